package checkdigit

import "testing"

func TestLuhn(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"79927398713", true}, // the ISO/IEC 7812 example
		{"79927398710", false},
		{"4111111111111111", true},
		{"6222020200112233445", false},
		{"0", false},
		{"", false},
		{"00", true},
		{"7992739871x", false},
		{"6217000010012345677", true},
		{"4111111111111112", false},
		{"1", false},
		{"12a4", false},
	} {
		if got := LuhnValid(tt.in); got != tt.want {
			t.Errorf("LuhnValid(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if got := LuhnValid([]byte(tt.in)); got != tt.want {
			t.Errorf("LuhnValid([]byte(%q)) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if d := Luhn("7992739871"); d != '3' {
		t.Errorf("Luhn = %c, want 3", d)
	}
	if !CardNumber("4111111111111111") || CardNumber("79927398713") || CardNumber("41111111111111111111") {
		t.Error("CardNumber takes 13-19 digits passing Luhn only")
	}
}

func TestIDNo(t *testing.T) {
	if c := IDNo("11010519491231002"); c != 'X' { // the GB 11643 example
		t.Fatalf("IDNo = %c, want X", c)
	}
}
