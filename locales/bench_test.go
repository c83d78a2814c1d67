package locales

import "testing"

// BenchmarkT is one plain message (a button label) formatted.
func BenchmarkT(b *testing.B) {
	c, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.T("ru", "menu.houses", nil)
	}
}
