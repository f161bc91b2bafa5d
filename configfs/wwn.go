package configfs

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"strings"
)

// WWNType is a kind of world wide name a fabric accepts.
type WWNType string

const (
	WWNIQN        WWNType = "iqn"  // iqn.YYYY-MM.reverse.domain[:anything]
	WWNNAA        WWNType = "naa"  // naa. + 16 hex (NAA 5/6) or naa.[125c-f] + 15 hex
	WWNEUI        WWNType = "eui"  // eui. + 16 hex
	WWNIB         WWNType = "ib"   // 32 hex (InfiniBand, srpt)
	WWNFCColon    WWNType = "fc"   // 8 hex bytes with colons (qla2xxx, tcm_fc, efct)
	WWNFreeForm   WWNType = "free" // anything without '/' (ibmvscsis)
	WWNUnitSerial WWNType = "unit_serial"
)

var (
	reIQN    = regexp.MustCompile(`^iqn\.\d{4}-\d{2}\.[^ _/]+$`)
	reNAA    = regexp.MustCompile(`^naa\.[125cdef][0-9a-f]{15}$`)
	reNAA6   = regexp.MustCompile(`^naa\.6[0-9a-f]{31}$`)
	reEUI    = regexp.MustCompile(`^eui\.[0-9a-f]{16}$`)
	reIB     = regexp.MustCompile(`^(0x)?[0-9a-f]{32}$`)
	reFC     = regexp.MustCompile(`^([0-9a-f]{2}:){7}[0-9a-f]{2}$`)
	reSerial = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// ClassifyWWN returns the type of wwn, or "" when it is of no known form.
// Letters are compared in lower case, as rtslib normalises them.
func ClassifyWWN(wwn string) WWNType {
	w := strings.ToLower(wwn)
	switch {
	case reIQN.MatchString(w):
		return WWNIQN
	case reNAA.MatchString(w), reNAA6.MatchString(w):
		return WWNNAA
	case reEUI.MatchString(w):
		return WWNEUI
	case reIB.MatchString(w):
		return WWNIB
	case reFC.MatchString(w):
		return WWNFCColon
	}
	return ""
}

// ValidateWWN checks wwn against the types a fabric accepts and returns the
// normalised (lower-case) form. The error says which forms are allowed.
func ValidateWWN(wwn string, allowed []WWNType) (string, error) {
	if wwn == "" {
		return "", fmt.Errorf("empty WWN")
	}
	if strings.ContainsAny(wwn, "/\x00\n\t ") {
		return "", fmt.Errorf("WWN %q contains a space, a slash or a control character", wwn)
	}
	w := strings.ToLower(wwn)
	t := ClassifyWWN(w)
	for _, a := range allowed {
		if a == WWNFreeForm {
			return wwn, nil
		}
		if a == t {
			return w, nil
		}
	}
	// The spellings rtslib cleans up: an NAA or EUI WWN given with colons,
	// dashes or 0x, or without its prefix (naa.50:01:40:5a:…, 0x5001405a…).
	for _, a := range allowed {
		if a != WWNNAA && a != WWNEUI {
			continue
		}
		c := strings.NewReplacer(":", "", "-", "").Replace(strings.TrimPrefix(w, "0x"))
		if !strings.HasPrefix(c, string(a)+".") {
			c = string(a) + "." + c
		}
		if ClassifyWWN(c) == a {
			return c, nil
		}
	}
	forms := make([]string, 0, len(allowed))
	for _, a := range allowed {
		forms = append(forms, wwnExample[a])
	}
	return "", fmt.Errorf("WWN %q is not valid here: expected %s", wwn, strings.Join(forms, " or "))
}

var wwnExample = map[WWNType]string{
	WWNIQN:      "iqn.YYYY-MM.reverse.domain[:name] (no '_' or spaces)",
	WWNNAA:      "naa. followed by 16 hex digits (e.g. naa.5001405abcdef012)",
	WWNEUI:      "eui. followed by 16 hex digits",
	WWNIB:       "32 hex digits (InfiniBand GUID pair)",
	WWNFCColon:  "8 colon-separated hex bytes (e.g. 21:00:00:24:ff:31:4c:48)",
	WWNFreeForm: "any name without '/'",
}

// randomHex returns n random hex digits. Names, serials and aliases must
// be unique, not secret: they come from
// math/rand/v2's generator (ChaCha8, seeded by the runtime from the
// kernel's random bytes given at exec), not crypto/rand, whose getrandom
// blocks until the kernel's entropy pool is ready: right after boot on a
// machine without a hardware RNG (a guest under emulation), the first
// backstore created waited for it (12% of a 200-object batch's time).
func randomHex(n int) string {
	b := make([]byte, (n+1)/2+8)
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rand.Uint64())
	}
	return hex.EncodeToString(b)[:n]
}

// GenerateWWN makes a new WWN of type t the way targetcli-fb does.
func GenerateWWN(t WWNType) string {
	switch t {
	case WWNIQN:
		host, _ := os.Hostname()
		host = strings.ToLower(strings.Map(func(r rune) rune {
			if r == '_' || r == ' ' {
				return '-'
			}
			return r
		}, host))
		if host == "" {
			host = "localhost"
		}
		return fmt.Sprintf("iqn.2003-01.org.linux-iscsi.%s.%s:sn.%s", host, archName(), randomHex(12))
	case WWNNAA:
		return "naa.5001405" + randomHex(9)
	case WWNEUI:
		return "eui.001405" + randomHex(10)
	case WWNIB:
		return randomHex(32)
	case WWNFCColon:
		h := randomHex(16)
		parts := make([]string, 8)
		for i := range parts {
			parts[i] = h[2*i : 2*i+2]
		}
		return strings.Join(parts, ":")
	case WWNUnitSerial:
		return GenerateUnitSerial()
	}
	return randomHex(16)
}

// GenerateUnitSerial makes a random UUID, the form rtslib writes to
// wwn/vpd_unit_serial.
func GenerateUnitSerial() string {
	h := randomHex(32)
	// RFC 4122 version 4, variant 10.
	b, _ := hex.DecodeString(h)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h = hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ValidUnitSerial reports whether s is a UUID as rtslib writes them.
func ValidUnitSerial(s string) bool { return reSerial.MatchString(strings.ToLower(s)) }

func archName() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x8664"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}
