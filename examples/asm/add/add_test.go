package add

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Fatalf("Add(2, 3) = %d, want 5", got)
	}
	if got := Add(-7, 4); got != -3 {
		t.Fatalf("Add(-7, 4) = %d, want -3", got)
	}
}
