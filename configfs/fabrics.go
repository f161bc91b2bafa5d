package configfs

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
	{Name: "qla2xxx", Module: "tcm_qla2xxx", WWNTypes: []WWNType{WWNFCColon}, Features: []Feature{FeatACLs, FeatEnable, FeatACLTag}, FixedWWNs: true},
	{Name: "efct", Module: "efct", WWNTypes: []WWNType{WWNFCColon}, Features: []Feature{FeatACLs, FeatEnable, FeatACLTag}, FixedWWNs: true},
	{Name: "fc", Module: "tcm_fc", WWNTypes: []WWNType{WWNFCColon}, Features: []Feature{FeatACLs, FeatACLTag}, FixedWWNs: true},
	{Name: "srpt", Module: "ib_srpt", WWNTypes: []WWNType{WWNIB}, Features: []Feature{FeatACLs, FeatEnable, FeatACLTag}, FixedWWNs: true},
	{Name: "sbp", Module: "sbp_target", WWNTypes: []WWNType{WWNEUI}, Features: []Feature{FeatEnable}, FixedWWNs: true},
	{Name: "ibmvscsis", Module: "ibmvscsis", WWNTypes: []WWNType{WWNFreeForm}, Features: []Feature{FeatEnable}, FixedWWNs: true},
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
