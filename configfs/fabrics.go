package configfs

import "strings"

// Feature is something a fabric module supports, as rtslib-fb names them.
type Feature string

const (
	FeatDiscoveryAuth Feature = "discovery_auth"
	FeatACLs          Feature = "acls"
	FeatAuth          Feature = "auth"
	FeatNPs           Feature = "nps"     // network portals
	FeatTPGTs         Feature = "tpgts"   // several TPGs per target; otherwise only tpgt_1
	FeatNexus         Feature = "nexus"   // an I_T nexus written into the TPG (loopback, vhost)
	FeatEnable        Feature = "enable"  // TPG has an enable attribute
	FeatACLTag        Feature = "acl_tag" // ACLs carry a tag
)

// FabricInfo is what tcmsh knows about a fabric module. A fabric not in
// the table is still browsed and edited generically.
type FabricInfo struct {
	Name     string    // configfs directory name
	Module   string    // kernel module that provides it
	WWNTypes []WWNType // accepted target WWNs
	Features []Feature
	// FixedWWNs is true when targets are hardware ports (FC, IB, FireWire):
	// their WWNs come from the hardware, not from the user.
	FixedWWNs bool
}

// Has reports whether the fabric has feature f.
func (f FabricInfo) Has(feat Feature) bool {
	for _, x := range f.Features {
		if x == feat {
			return true
		}
	}
	return false
}

// KnownFabrics lists the fabric modules of the mainline kernel.
var KnownFabrics = []FabricInfo{
	{Name: "iscsi", Module: "iscsi_target_mod", WWNTypes: []WWNType{WWNIQN, WWNNAA, WWNEUI},
		Features: []Feature{FeatDiscoveryAuth, FeatACLs, FeatAuth, FeatNPs, FeatTPGTs, FeatEnable, FeatACLTag}},
	{Name: "loopback", Module: "tcm_loop", WWNTypes: []WWNType{WWNNAA}, Features: []Feature{FeatNexus}},
	{Name: "vhost", Module: "vhost_scsi", WWNTypes: []WWNType{WWNNAA}, Features: []Feature{FeatNexus, FeatTPGTs}},
	{Name: "xen-pvscsi", Module: "xen-scsiback", WWNTypes: []WWNType{WWNNAA}, Features: []Feature{FeatNexus, FeatTPGTs}},
	{Name: "qla2xxx", Module: "tcm_qla2xxx", WWNTypes: []WWNType{WWNFCColon, WWNNAA}, Features: []Feature{FeatACLs, FeatEnable, FeatACLTag}, FixedWWNs: true},
	{Name: "efct", Module: "efct", WWNTypes: []WWNType{WWNFCColon, WWNNAA}, Features: []Feature{FeatACLs, FeatEnable, FeatACLTag}, FixedWWNs: true},
	{Name: "fc", Module: "tcm_fc", WWNTypes: []WWNType{WWNFCColon, WWNNAA}, Features: []Feature{FeatACLs, FeatACLTag}, FixedWWNs: true},
	{Name: "srpt", Module: "ib_srpt", WWNTypes: []WWNType{WWNIB}, Features: []Feature{FeatACLs, FeatEnable, FeatACLTag}, FixedWWNs: true},
	{Name: "sbp", Module: "sbp_target", WWNTypes: []WWNType{WWNEUI}, Features: []Feature{FeatEnable}, FixedWWNs: true},
	{Name: "ibmvscsis", Module: "ibmvscsis", WWNTypes: []WWNType{WWNFreeForm}, Features: []Feature{FeatEnable}, FixedWWNs: true},
}

// SavedFabricName is the name saveconfig.json (rtslib) gives a fabric:
// the FCoE fabric, whose configfs directory is "fc", is rtslib's "tcm_fc".
// FabricFromSaved is the reverse; it takes both.
func SavedFabricName(dir string) string {
	if dir == "fc" {
		return "tcm_fc"
	}
	return dir
}

// FabricFromSaved is the configfs directory of a fabric named in
// saveconfig.json ("tcm_fc" or "fc" → "fc").
func FabricFromSaved(name string) string {
	if name == "tcm_fc" {
		return "fc"
	}
	return name
}

// colonFabrics are the Fibre Channel fabrics: configfs names their ports
// and initiators in colon form (21:00:00:24:ff:31:4c:48), rtslib and
// targetcli-fb as NAA (naa.21000024ff314c48).
var colonFabrics = map[string]bool{"qla2xxx": true, "efct": true, "fc": true}

// ToFabricWWN is the configfs name of a validated WWN on fabric: an NAA
// WWN of a Fibre Channel fabric becomes its colon form.
func ToFabricWWN(fabric, wwn string) string {
	if colonFabrics[fabric] && reNAA.MatchString(wwn) {
		return colonize(wwn[len("naa."):])
	}
	return wwn
}

// FromFabricWWN is the WWN rtslib saves for a configfs name on fabric: a
// Fibre Channel colon WWN becomes naa.<16 hex>.
func FromFabricWWN(fabric, name string) string {
	if colonFabrics[fabric] && reFC.MatchString(name) {
		return "naa." + strings.ReplaceAll(name, ":", "")
	}
	return name
}

func colonize(hex string) string {
	parts := make([]string, 0, len(hex)/2)
	for i := 0; i+2 <= len(hex); i += 2 {
		parts = append(parts, hex[i:i+2])
	}
	return strings.Join(parts, ":")
}

// LookupFabric returns what is known about a fabric, and a generic
// description (any WWN, TPGs, ACLs) for an unknown one.
func LookupFabric(name string) (FabricInfo, bool) {
	for _, f := range KnownFabrics {
		if f.Name == name {
			return f, true
		}
	}
	return FabricInfo{Name: name, WWNTypes: []WWNType{WWNFreeForm},
		Features: []Feature{FeatACLs, FeatTPGTs, FeatEnable}}, false
}
