package scsi

import "encoding/binary"

// Mode pages.
const (
	pageReadWriteErrorRecovery = 0x01
	pageCaching                = 0x08
	pageControl                = 0x0a
	pageAll                    = 0x3f
)

// Page controls of MODE SENSE.
const (
	pcCurrent    = 0
	pcChangeable = 1
	pcDefault    = 2
	pcSaved      = 3
)

// modePages lists the supported pages in the order MODE SENSE returns them.
var modePages = [...]byte{pageReadWriteErrorRecovery, pageCaching, pageControl}

// modePageLen is the full length of a page (header included).
func modePageLen(code byte) int {
	switch code {
	case pageReadWriteErrorRecovery, pageControl:
		return 12
	case pageCaching:
		return 20
	}
	return 0
}

// appendModePage appends a page as the page control asks. Only WCE (caching)
// and D_SENSE (control) are changeable.
func (d *Disk) appendModePage(buf []byte, code byte, pc byte) []byte {
	n := modePageLen(code)
	start := len(buf)
	for range n {
		buf = append(buf, 0)
	}
	p := buf[start:]
	p[0] = code
	p[1] = byte(n - 2)
	switch code {
	case pageCaching:
		switch pc {
		case pcChangeable:
			p[2] = 0x04
		case pcCurrent:
			if d.writeCache.Load() {
				p[2] = 0x04
			}
		}
	case pageControl:
		switch pc {
		case pcChangeable:
			p[2] = 0x04
		default:
			p[2] = 0x02 // GLTSD: no log parameters are saved
			if pc == pcCurrent && d.descSense.Load() {
				p[2] |= 0x04 // D_SENSE
			}
			p[3] = 0x10             // queue algorithm modifier 1: unrestricted reordering
			p[5] = 0x40             // TAS
			p[8], p[9] = 0xff, 0xff // busy timeout period: unlimited
		}
	}
	return buf
}

// deviceSpecificParameter is the header byte of MODE SENSE for a disk.
func (d *Disk) deviceSpecificParameter() byte {
	v := byte(0x10) // DPOFUA: DPO and FUA are supported
	if d.caps.ReadOnly {
		v |= 0x80 // WP
	}
	return v
}

func (d *Disk) modeSense(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	ten := cdb[0] == opModeSense10
	dbd := cdb[1]&0x08 != 0
	llbaa := ten && cdb[1]&0x10 != 0
	pc := cdb[2] >> 6
	page := cdb[2] & 0x3f
	subpage := cdb[3]
	var alloc int
	if ten {
		alloc = int(binary.BigEndian.Uint16(cdb[7:9]))
	} else {
		alloc = int(cdb[4])
	}
	if pc == pcSaved {
		return senseSavingNotSupported
	}
	// No page has subpages: subpage 0 names the page and 0xff "the page and
	// all its subpages", which is the same thing here.
	if subpage != 0x00 && subpage != 0xff {
		return invalidCDB(3, 7)
	}
	if page != pageAll && modePageLen(page) == 0 {
		return invalidCDB(2, 5)
	}

	buf := make([]byte, 0, 128)
	hdrLen := 4
	if ten {
		hdrLen = 8
	}
	for range hdrLen {
		buf = append(buf, 0)
	}
	dsp := d.deviceSpecificParameter()
	if !dbd {
		blocks := d.blocks.Load()
		if llbaa {
			var bd [16]byte
			binary.BigEndian.PutUint64(bd[0:], blocks)
			binary.BigEndian.PutUint32(bd[12:], uint32(d.blockSize))
			buf = append(buf, bd[:]...)
		} else {
			var bd [8]byte
			binary.BigEndian.PutUint32(bd[0:], uint32(min(blocks, 0xffffffff)))
			bd[5] = byte(d.blockSize >> 16)
			bd[6] = byte(d.blockSize >> 8)
			bd[7] = byte(d.blockSize)
			buf = append(buf, bd[:]...)
		}
	}
	bdLen := len(buf) - hdrLen
	if page == pageAll {
		for _, code := range modePages {
			buf = d.appendModePage(buf, code, pc)
		}
	} else {
		buf = d.appendModePage(buf, page, pc)
	}
	if ten {
		binary.BigEndian.PutUint16(buf[0:], uint16(len(buf)-2))
		buf[3] = dsp
		if llbaa && bdLen > 0 {
			buf[4] = 0x01 // LONGLBA
		}
		binary.BigEndian.PutUint16(buf[6:], uint16(bdLen))
	} else {
		buf[0] = byte(len(buf) - 1)
		buf[2] = dsp
		buf[3] = byte(bdLen)
	}
	d.dataIn(cmd, buf, alloc)
	return good
}

// modeSelect accepts a parameter list that changes nothing but the
// changeable bits (WCE, D_SENSE). Everything is validated before anything
// is applied.
func (d *Disk) modeSelect(cmd *Command, _ *initiatorState) senseData {
	cdb := cmd.CDB
	ten := cdb[0] == opModeSelect10
	var length int
	if ten {
		length = int(binary.BigEndian.Uint16(cdb[7:9]))
	} else {
		length = int(cdb[4])
	}
	if cdb[1]&0x10 == 0 {
		// PF=0 would mean vendor-specific pages; only SPC pages are known.
		return invalidCDB(1, 4)
	}
	if length == 0 {
		return good
	}
	params := make([]byte, length)
	if gather(params, cmd.Data) < length {
		return senseParamListLength
	}
	hdrLen := 4
	if ten {
		hdrLen = 8
	}
	if length < hdrLen {
		return senseParamListLength
	}
	var bdLen int
	longLBA := false
	if ten {
		longLBA = params[4]&0x01 != 0
		bdLen = int(binary.BigEndian.Uint16(params[6:8]))
	} else {
		bdLen = int(params[3])
	}
	if params[1] != 0 { // medium type
		return invalidParam(1, 7)
	}
	bdField := 3
	if ten {
		bdField = 6
	}
	wantBD := 8
	if longLBA {
		wantBD = 16
	}
	if bdLen != 0 && bdLen != wantBD {
		return invalidParam(bdField, 7)
	}
	if hdrLen+bdLen > length {
		return senseParamListLength
	}
	if bdLen > 0 {
		if s := d.checkBlockDescriptor(params[hdrLen:hdrLen+bdLen], hdrLen, longLBA); s.failed() {
			return s
		}
	}

	wce, dsense := d.writeCache.Load(), d.descSense.Load()
	var cur, mask []byte
	for off := hdrLen + bdLen; off < length; {
		if length-off < 2 {
			return senseParamListLength
		}
		code := params[off] & 0x3f
		if params[off]&0x40 != 0 { // SPF: no subpages exist
			return invalidParam(off, 6)
		}
		n := modePageLen(code)
		if n == 0 {
			return invalidParam(off, 5)
		}
		if int(params[off+1]) != n-2 {
			return invalidParam(off+1, 7)
		}
		if length-off < n {
			return senseParamListLength
		}
		cur = d.appendModePage(cur[:0], code, pcCurrent)
		mask = d.appendModePage(mask[:0], code, pcChangeable)
		page := params[off : off+n]
		// Byte 0 carries PS, which MODE SELECT reserves; it is ignored so that
		// a page read with MODE SENSE can be sent back as it is.
		for i := 2; i < n; i++ {
			if diff := (page[i] ^ cur[i]) &^ mask[i]; diff != 0 {
				return invalidParam(off+i, highestBit(diff))
			}
		}
		switch code {
		case pageCaching:
			wce = page[2]&0x04 != 0
		case pageControl:
			dsense = page[2]&0x04 != 0
		}
		off += n
	}
	changed := d.writeCache.Swap(wce) != wce
	if d.descSense.Swap(dsense) != dsense {
		changed = true
	}
	if changed {
		// SPC-4: other I_T nexuses learn of the change by a unit attention.
		d.initiators.raise(uaModeParamsChanged, cmd.Initiator, true)
	}
	return good
}

// checkBlockDescriptor accepts a block descriptor that keeps the current
// block size and capacity (a number of blocks of 0 means "unchanged").
func (d *Disk) checkBlockDescriptor(bd []byte, off int, long bool) senseData {
	blocks := d.blocks.Load()
	if long {
		if n := binary.BigEndian.Uint64(bd[0:]); n != 0 && n != blocks {
			return invalidParam(off, 7)
		}
		if binary.BigEndian.Uint32(bd[8:12]) != 0 {
			return invalidParam(off+8, 7)
		}
		if int64(binary.BigEndian.Uint32(bd[12:])) != d.blockSize {
			return invalidParam(off+12, 7)
		}
		return good
	}
	if n := binary.BigEndian.Uint32(bd[0:]); n != 0 && uint64(n) != min(blocks, 0xffffffff) {
		return invalidParam(off, 7)
	}
	if bd[4] != 0 { // density code
		return invalidParam(off+4, 7)
	}
	if int64(bd[5])<<16|int64(bd[6])<<8|int64(bd[7]) != d.blockSize {
		return invalidParam(off+5, 7)
	}
	return good
}
