#!/usr/bin/env bash
# Generate a synthetic Go module for end-to-end benchmarks.
#
# Usage: benches/genws.sh OUTDIR [NPKG] [NMAIN]     (defaults: 300 packages, 5 mains)
#
# Layout (module example.com/bench):
#   internal/pNNN/{pNNN.go,extra.go}   NPKG library packages in layers of 30;
#                                      each imports 3 packages from lower
#                                      layers (one from the layer just below,
#                                      so the graph is NPKG/30 deep) and a
#                                      rotating subset of the standard library
#   cmd/toolK/main.go                  NMAIN main packages, each importing 8
#                                      packages of the top layer
# The output is deterministic: same arguments, same bytes. It builds with
# `go build ./...` and is `go vet` clean.
set -euo pipefail

out=${1:?usage: genws.sh OUTDIR [NPKG] [NMAIN]}
npkg=${2:-300}
nmain=${3:-5}
layer=30
mod=example.com/bench

mkdir -p "$out"
cat > "$out/go.mod" <<EOF
module $mod

go 1.23
EOF

# One of these is used by each package, in rotation, on top of the fixed set;
# together they pull a realistic slice of the standard library into the build.
extras=(encoding/json bytes math unicode/utf8 container/list slices maps regexp
	time text/tabwriter bufio encoding/binary encoding/hex path io)

# extra_func IMPORT: a function that uses IMPORT.
extra_func() {
	case $1 in
	encoding/json) cat <<'EOF'
// Encode returns the JSON form of the items.
func Encode(items []*Item) (string, error) {
	b, err := json.Marshal(items)
	return string(b), err
}
EOF
	;;
	bytes) cat <<'EOF'
// Join concatenates names with a separator.
func Join(items []*Item) string {
	var b bytes.Buffer
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(it.Name)
	}
	return b.String()
}
EOF
	;;
	math) cat <<'EOF'
// Norm returns the Euclidean norm of the scores.
func Norm(items []*Item) float64 {
	s := 0.0
	for _, it := range items {
		s += it.Score * it.Score
	}
	return math.Sqrt(s)
}
EOF
	;;
	unicode/utf8) cat <<'EOF'
// Runes counts the runes of all names.
func Runes(items []*Item) int {
	n := 0
	for _, it := range items {
		n += utf8.RuneCountInString(it.Name)
	}
	return n
}
EOF
	;;
	container/list) cat <<'EOF'
// Queue puts the items in a linked list, in reverse.
func Queue(items []*Item) *list.List {
	l := list.New()
	for _, it := range items {
		l.PushFront(it)
	}
	return l
}
EOF
	;;
	slices) cat <<'EOF'
// MaxID returns the largest ID.
func MaxID(items []*Item) int {
	ids := make([]int, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if len(ids) == 0 {
		return 0
	}
	return slices.Max(ids)
}
EOF
	;;
	maps) cat <<'EOF'
// Keys returns the sorted keys of the store.
func (s *Store) Keys() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]int, 0, len(s.items))
	for k := range maps.Keys(s.items) {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
EOF
	;;
	regexp) cat <<'EOF'
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ValidNames reports whether every name is an identifier.
func ValidNames(items []*Item) bool {
	for _, it := range items {
		if !namePattern.MatchString(it.Name) {
			return false
		}
	}
	return true
}
EOF
	;;
	time) cat <<'EOF'
// Age is how long ago the given Unix time was, relative to now.
func Age(unix int64, now time.Time) time.Duration {
	return now.Sub(time.Unix(unix, 0)).Round(time.Second)
}
EOF
	;;
	text/tabwriter) cat <<'EOF'
// Table writes the items as aligned columns.
func Table(w io.Writer, items []*Item) error {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%.2f\n", it.ID, it.Name, it.Score)
	}
	return tw.Flush()
}
EOF
	;;
	bufio) cat <<'EOF'
// Lines reads items, one "id name score" per line.
func Lines(r io.Reader) ([]*Item, error) {
	var items []*Item
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		got, err := Parse(sc.Text())
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
	}
	return items, sc.Err()
}
EOF
	;;
	encoding/binary) cat <<'EOF'
// Pack encodes the IDs as little-endian uint32s.
func Pack(items []*Item) []byte {
	b := make([]byte, 0, 4*len(items))
	for _, it := range items {
		b = binary.LittleEndian.AppendUint32(b, uint32(it.ID))
	}
	return b
}
EOF
	;;
	encoding/hex) cat <<'EOF'
// Fingerprint is the hex checksum of the names.
func Fingerprint(items []*Item) string {
	var b []byte
	for _, it := range items {
		b = append(b, it.Name...)
	}
	c := Checksum(b)
	return hex.EncodeToString([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
}
EOF
	;;
	path) cat <<'EOF'
// Paths gives each item a slash-separated path.
func Paths(root string, items []*Item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, path.Join(root, it.Name, strconv.Itoa(it.ID)))
	}
	return out
}
EOF
	;;
	io) cat <<'EOF'
// WriteAll writes every item's String form to w.
func WriteAll(w io.Writer, items []*Item) error {
	for _, it := range items {
		if _, err := io.WriteString(w, it.String()+"\n"); err != nil {
			return err
		}
	}
	return nil
}
EOF
	;;
	esac
}

for ((i = 0; i < npkg; i++)); do
	name=$(printf 'p%03d' "$i")
	dir="$out/internal/$name"
	mkdir -p "$dir"
	L=$((i / layer))
	deps=()
	if ((L > 0)); then
		lo=$(((L - 1) * layer))
		deps+=("$((lo + (i * 7) % layer))")
		below=$((L * layer))
		for k in 1 2; do
			d=$(((i * 13 + k * 29) % below))
			[[ " ${deps[*]} " == *" $d "* ]] || deps+=("$d")
		done
		mapfile -t deps < <(printf '%s\n' "${deps[@]}" | sort -n)
	fi
	ext=${extras[$((i % ${#extras[@]}))]}
	# std imports of extra.go: the extra one, plus what its code needs.
	ximports=("$ext")
	case $ext in
	text/tabwriter) ximports+=(fmt io) ;;
	bufio) ximports+=(io) ;;
	maps) ximports+=(sort) ;;
	path) ximports+=(strconv) ;;
	esac
	{
		echo "// Code generated by benches/genws.sh; DO NOT EDIT."
		echo
		echo "package $name"
		echo
		echo "import ("
		printf '%s\n' "${ximports[@]}" | LC_ALL=C sort -u | sed 's/.*/\t"&"/'
		echo ")"
		echo
		extra_func "$ext"
	} > "$dir/extra.go"

	{
		echo "// Code generated by benches/genws.sh; DO NOT EDIT."
		echo
		echo "// Package $name is layer $L of the synthetic benchmark module."
		echo "package $name"
		echo
		echo "import ("
		printf '\t"%s"\n' errors fmt hash/crc32 sort strconv strings sync
		if ((${#deps[@]})); then
			echo
			for d in "${deps[@]}"; do printf '\t"%s/internal/p%03d"\n' "$mod" "$d"; done
		fi
		echo ")"
		cat <<EOF

// Seed distinguishes this package's values from its neighbours'.
const Seed = $((i * 2654435761 % 1000003))

// Item is a record this package knows how to parse, sort and print.
type Item struct {
	ID    int
	Name  string
	Tags  []string
	Score float64
}

func (it *Item) String() string {
	return fmt.Sprintf("%s#%d[%s]=%.3f", it.Name, it.ID, strings.Join(it.Tags, "|"), it.Score)
}

// Store is a concurrency-safe set of items keyed by ID.
type Store struct {
	mu    sync.Mutex
	items map[int]*Item
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{items: make(map[int]*Item)}
}

// ErrDuplicate is returned when an ID is stored twice.
var ErrDuplicate = errors.New("$name: duplicate id")

// Put stores an item, refusing duplicates.
func (s *Store) Put(it *Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[it.ID]; ok {
		return fmt.Errorf("put %d: %w", it.ID, ErrDuplicate)
	}
	s.items[it.ID] = it
	return nil
}

// Sorted returns the items by descending score, then name.
func (s *Store) Sorted() []*Item {
	s.mu.Lock()
	out := make([]*Item, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, it)
	}
	s.mu.Unlock()
	sort.Slice(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].Name < out[b].Name
	})
	return out
}

// Parse reads "id name score [tag...]" records separated by semicolons.
func Parse(s string) ([]*Item, error) {
	var items []*Item
	for _, rec := range strings.Split(s, ";") {
		f := strings.Fields(rec)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("$name: short record %q", rec)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, err
		}
		score, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return nil, err
		}
		items = append(items, &Item{ID: id, Name: f[1], Score: score, Tags: f[3:]})
	}
	return items, nil
}

// Reduce folds f over xs.
func Reduce[T, A any](xs []T, init A, f func(A, T) A) A {
	acc := init
	for _, x := range xs {
		acc = f(acc, x)
	}
	return acc
}

// Map applies f to every element.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// Checksum is the CRC-32 of data, mixed with Seed.
func Checksum(data []byte) uint32 {
	return crc32.ChecksumIEEE(data) ^ uint32(Seed)
}

// Classify maps a score to a bucket name.
func Classify(score float64) string {
	switch {
	case score < 0:
		return "negative"
	case score < 1:
		return "low"
	case score < 10:
		return "medium"
	case score < 100:
		return "high"
	default:
		return "extreme"
	}
}

// Total sums the scores of the items.
func Total(items []*Item) float64 {
	return Reduce(items, 0.0, func(acc float64, it *Item) float64 { return acc + it.Score })
}
EOF
		echo
		echo "// Value combines this package's seed with its dependencies' values."
		echo "func Value(n int) int {"
		echo "	if n <= 0 {"
		echo "		return Seed"
		echo "	}"
		if ((${#deps[@]})); then
			printf '	v := Seed'
			for d in "${deps[@]}"; do printf ' + p%03d.Value(n-1)' "$d"; done
			echo
			echo "	return v % 1000003"
		else
			echo "	return (Seed*31 + n) % 1000003"
		fi
		echo "}"
		echo
		echo "// Describe names this package and its direct dependencies."
		echo "func Describe() string {"
		printf '	return "%s"' "$name"
		for d in "${deps[@]}"; do printf ' + " p%03d"' "$d"; done
		echo
		echo "}"
	} > "$dir/$name.go"
done

top=$(((npkg - 1) / layer * layer))
ntop=$((npkg - top))
for ((k = 0; k < nmain; k++)); do
	dir="$out/cmd/tool$k"
	mkdir -p "$dir"
	picks=()
	for ((j = 0; j < 8 && j < ntop; j++)); do
		p=$((top + (k * 5 + j * 3) % ntop))
		[[ " ${picks[*]} " == *" $p "* ]] || picks+=("$p")
	done
	{
		echo "// Code generated by benches/genws.sh; DO NOT EDIT."
		echo
		echo "// Command tool$k prints values from the top layer of the benchmark module."
		echo "package main"
		echo
		echo "import ("
		printf '\t"%s"\n' flag fmt os
		echo
		for p in $(printf '%s\n' "${picks[@]}" | sort -n); do printf '\t"%s/internal/p%03d"\n' "$mod" "$p"; done
		echo ")"
		echo
		echo "func main() {"
		echo "	depth := flag.Int(\"depth\", 2, \"how deep to combine values\")"
		echo "	flag.Parse()"
		echo "	sum := 0"
		for p in "${picks[@]}"; do
			printf '	sum += p%03d.Value(*depth)\n' "$p"
			printf '	fmt.Println(p%03d.Describe())\n' "$p"
		done
		p0=$(printf 'p%03d' "${picks[0]}")
		cat <<EOF
	items, err := $p0.Parse("1 alpha 2.5 x y; 2 beta 7 z")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := $p0.NewStore()
	for _, it := range items {
		if err := s.Put(it); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, it := range s.Sorted() {
		fmt.Println(it, $p0.Classify(it.Score))
	}
	fmt.Println("tool$k", sum, $p0.Total(items))
}
EOF
	} > "$dir/main.go"
done
