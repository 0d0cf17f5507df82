package platform

// The a2.admit command is the one every A2 call proposes, and every node
// decodes each batch of them again in its apply: encoding/json's strict
// decoder (reflection, unknown fields refused) was about a third of the
// apply's CPU. decodeA2AdmitFast reads the form Command.Encode writes for it
// and nothing else; whatever it does not recognise, byte for byte, goes to
// the strict decoder as before, so the two always agree
// (TestDecodeA2AdmitFast, FuzzDecodeA2AdmitFast).

// decodeA2AdmitFast decodes b if it is an a2.admit command (type version 1)
// in exactly the layout json.Marshal gives a Command and an A2AdmitBatch:
// the fields in their declaration order, no white space, the Actor's
// omitempty fields present or not, strings of printable ASCII without
// escapes, integers without fraction or exponent. ok is false for any other
// input, valid or not. The payload is not validated here.
func decodeA2AdmitFast(b []byte) (c *Command, p *A2AdmitBatch, ok bool) {
	if len(b) < 32 || string(b[:32]) != `{"v":1,"type":"a2.admit","tv":1,` {
		return nil, nil, false // not one (checked before the copy below)
	}
	s := fastScan{b: b, ok: true}
	c = &Command{}
	s.lit(`{"v":`)
	c.V = int(s.int())
	s.lit(`,"type":`)
	c.Type = s.str()
	s.lit(`,"tv":`)
	c.TypeVersion = int(s.int())
	if !s.ok || c.Type != CmdA2Admit || c.TypeVersion != 1 {
		return nil, nil, false
	}
	s.lit(`,"id":`)
	c.ID = s.str()
	s.lit(`,"at":`)
	c.At = s.int()
	s.lit(`,"actor":{"kind":`)
	c.Actor.Kind = s.str()
	s.lit(`,"id":`)
	c.Actor.ID = s.str()
	if s.opt(`,"addr":`) {
		c.Actor.Addr = s.str()
	}
	if s.opt(`,"node":`) {
		c.Actor.Node = s.str()
	}
	s.lit(`},"payload":`)
	start := s.i
	p = &A2AdmitBatch{}
	s.lit(`{"window_ms":`)
	p.WindowMs = s.int()
	s.lit(`,"admissions":[`)
	for s.ok {
		var a A2Admission
		s.lit(`{"app_id":`)
		a.AppID = s.str()
		s.lit(`,"nonce":`)
		a.Nonce = s.str()
		s.lit(`,"api_id":`)
		a.APIID = s.str()
		s.lit(`,"request_id":`)
		a.RequestID = s.str()
		s.lit(`,"body_sm3":`)
		a.BodySM3 = s.str()
		s.lit(`,"token_id":`)
		a.TokenID = s.str()
		s.lit(`,"node":`)
		a.Node = s.str()
		s.lit(`}`)
		if !s.ok || len(p.Admissions) == MaxAdmissionBatch {
			return nil, nil, false
		}
		p.Admissions = append(p.Admissions, a)
		if !s.opt(`,`) {
			break
		}
	}
	s.lit(`]}`)
	end := s.i
	s.lit(`}`)
	if !s.ok || s.i != len(b) {
		return nil, nil, false
	}
	c.Payload = append([]byte(nil), b[start:end]...)
	return c, p, true
}

// fastScan reads b from i; the first mismatch clears ok, after which every
// read returns a zero value.
type fastScan struct {
	b  []byte
	i  int
	ok bool
}

// lit reads the bytes of l.
func (s *fastScan) lit(l string) {
	if !s.opt(l) {
		s.ok = false
	}
}

// opt reads l if it comes next, and reports whether it did.
func (s *fastScan) opt(l string) bool {
	if !s.ok || len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// str reads a string of printable ASCII other than '"' and '\' (what JSON
// needs no escape for), quotes included.
func (s *fastScan) str() string {
	s.lit(`"`)
	if !s.ok {
		return ""
	}
	j := s.i
	for j < len(s.b) && s.b[j] != '"' {
		if c := s.b[j]; c < 0x20 || c > 0x7e || c == '\\' {
			s.ok = false
			return ""
		}
		j++
	}
	if j == len(s.b) {
		s.ok = false
		return ""
	}
	// A string of its own, as encoding/json's: one kept (an app's count
	// in the admission index) must not hold the whole command.
	v := string(s.b[s.i:j])
	s.i = j + 1
	return v
}

// int reads an integer as JSON writes one: an optional minus, then 0 or a
// digit 1-9 and more digits, 18 at most (so that it fits an int64).
func (s *fastScan) int() int64 {
	if !s.ok {
		return 0
	}
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	j := s.i
	var v int64
	for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' && j-s.i < 19 {
		v = v*10 + int64(s.b[j]-'0')
		j++
	}
	n := j - s.i
	if n == 0 || n > 18 || (n > 1 && s.b[s.i] == '0') {
		s.ok = false
		return 0
	}
	s.i = j
	if neg {
		return -v
	}
	return v
}
