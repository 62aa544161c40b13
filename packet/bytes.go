package packet

// Big-endian loads. Callers check lengths first; the slice expressions here
// let the compiler drop the bounds checks after one test.

func be16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[0])<<8 | uint16(b[1])
}

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func le16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[1])<<8 | uint16(b[0])
}

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[3])<<24 | uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
}
