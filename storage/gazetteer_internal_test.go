package storage

import (
	"math/rand/v2"
	"os"
	"testing"
)

// The letter sets that let Search pass over most names must never pass
// over a name within reach: on the shipped gazetteer, for names with up
// to four random typos, Search and Suggest find exactly the settlements a
// distance computed for every name finds, at the same distances.
func TestSearchFindsWhatEveryDistanceFinds(t *testing.T) {
	onePass(t)
	regions, err := os.Open("../data/regions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer regions.Close()
	towns, err := os.Open("../data/gazetteer.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer towns.Close()
	g, err := LoadGazetteer(regions, towns)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	letters := []rune("абвгдежзиклмнопрстуфхшыәқңғүұөіaeiouklmnrst")
	for range 400 {
		name := g.names[rng.IntN(len(g.names))].folded
		q := append([]rune(nil), name...)
		for range rng.IntN(5) {
			switch i := rng.IntN(len(q) + 1); rng.IntN(4) {
			case 0: // insert
				q = append(q[:i], append([]rune{letters[rng.IntN(len(letters))]}, q[i:]...)...)
			case 1: // delete
				if i < len(q) && len(q) > 1 {
					q = append(q[:i], q[i+1:]...)
				}
			case 2: // substitute
				if i < len(q) {
					q[i] = letters[rng.IntN(len(letters))]
				}
			case 3: // swap neighbours
				if i+1 < len(q) {
					q[i], q[i+1] = q[i+1], q[i]
				}
			}
		}
		query := string(q)
		q = []rune(foldName(query)) // as Search folds it
		for _, edits := range []int{maxEdits(len(q)), max(3, len(q)/2)} {
			want := map[int64]int{}
			for _, n := range g.names {
				if d := editDistance(q, n.folded, edits); d <= edits {
					id := g.settlements[n.settlement].ID
					if old, ok := want[id]; !ok || d < old {
						want[id] = d
					}
				}
			}
			got := g.search(query, len(g.settlements), edits)
			if len(got) != len(want) {
				t.Fatalf("%q with %d edits: %d settlements, every distance finds %d", query, edits, len(got), len(want))
			}
			for _, m := range got {
				if d, ok := want[m.ID]; !ok || d != m.Distance {
					t.Fatalf("%q with %d edits: %s at %d, every distance says %d (found %v)", query, edits, m.Name["en"], m.Distance, d, ok)
				}
			}
		}
	}
}
