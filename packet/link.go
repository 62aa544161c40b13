package packet

func (p *Parsed) decodeLink() {}
