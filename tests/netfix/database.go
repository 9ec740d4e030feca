package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type dbConfig struct {
	name, skey, records string
	filler              int
	preload             bool
	mode, lie           string
}

// sums holds go.sum lines per module@version: the h1 of the zip and of the go.mod.
type sums struct {
	order []module.Version
	zip   map[module.Version]string
	mod   map[module.Version]string
}

func newSums() *sums {
	return &sums{zip: map[module.Version]string{}, mod: map[module.Version]string{}}
}

func (s *sums) add(path, version, hash string) {
	m := module.Version{Path: path, Version: strings.TrimSuffix(version, "/go.mod")}
	if _, ok := s.zip[m]; !ok {
		if _, ok := s.mod[m]; !ok {
			s.order = append(s.order, m)
		}
	}
	if strings.HasSuffix(version, "/go.mod") {
		s.mod[m] = hash
	} else {
		s.zip[m] = hash
	}
}

// record is the go.sum text for m ("path version h1\npath version/go.mod h1\n").
func (s *sums) record(m module.Version) ([]byte, bool) {
	var b strings.Builder
	if h, ok := s.zip[m]; ok {
		fmt.Fprintf(&b, "%s %s %s\n", m.Path, m.Version, h)
	}
	if h, ok := s.mod[m]; ok {
		fmt.Fprintf(&b, "%s %s/go.mod %s\n", m.Path, m.Version, h)
	}
	return []byte(b.String()), b.Len() > 0
}

func readSums(file string) (*sums, error) {
	s := newSums()
	if file == "" {
		return s, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want 'module version hash', got %q", file, n, line)
		}
		s.add(fields[0], fields[1], fields[2])
	}
	return s, sc.Err()
}

func fakeHash(seed string) string {
	h := sha256.Sum256([]byte("netfix filler " + seed))
	return "h1:" + base64.StdEncoding.EncodeToString(h[:])
}

type database struct {
	name    string
	vkey    string
	mode    string
	ts      *sumdb.TestServer
	lie     *sums // nil unless mode == lie
	handler *sumdb.Server
}

func loadKey(name, file string) (skey, vkey string, err error) {
	if file == "" {
		return note.GenerateKey(rand.Reader, name)
	}
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		skey, vkey, err = note.GenerateKey(rand.Reader, name)
		if err != nil {
			return "", "", err
		}
		if err := writeAtomic(file+".vkey", []byte(vkey+"\n")); err != nil {
			return "", "", err
		}
		if err := writeAtomic(file, []byte(skey+"\n")); err != nil {
			return "", "", err
		}
		return skey, vkey, nil
	}
	if err != nil {
		return "", "", err
	}
	skey = strings.TrimSpace(string(data))
	vkey, err = vkeyFromSkey(skey)
	return skey, vkey, err
}

// vkeyFromSkey derives the verifier key from a PRIVATE+KEY+name+hash+key signer key.
func vkeyFromSkey(skey string) (string, error) {
	if _, err := note.NewSigner(skey); err != nil {
		return "", err
	}
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return "", fmt.Errorf("malformed signer key")
	}
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", fmt.Errorf("unsupported signer key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

func newDatabase(c dbConfig) (*database, error) {
	switch c.mode {
	case "normal", "badsig", "lie":
	default:
		return nil, fmt.Errorf("unknown -sumdb-mode %q", c.mode)
	}
	skey, vkey, err := loadKey(c.name, c.skey)
	if err != nil {
		return nil, fmt.Errorf("sumdb key: %v", err)
	}
	records, err := readSums(c.records)
	if err != nil {
		return nil, err
	}
	d := &database{name: c.name, vkey: vkey, mode: c.mode}
	if c.mode == "lie" {
		if c.lie == "" {
			return nil, fmt.Errorf("-sumdb-mode lie needs -sumdb-lie FILE")
		}
		if d.lie, err = readSums(c.lie); err != nil {
			return nil, err
		}
	}
	gosum := func(path, vers string) ([]byte, error) {
		m := module.Version{Path: path, Version: vers}
		if strings.HasPrefix(path, "filler.test/") && vers == "v1.0.0" {
			return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n",
				path, vers, fakeHash(path+" zip"), path, vers, fakeHash(path+" mod"))), nil
		}
		if rec, ok := records.record(m); ok {
			return rec, nil
		}
		return nil, &fs.PathError{Op: "lookup", Path: m.String(), Err: fs.ErrNotExist}
	}
	d.ts = sumdb.NewTestServer(skey, gosum)
	ctx := context.Background()
	for i := 0; i < c.filler; i++ {
		m := module.Version{Path: fmt.Sprintf("filler.test/m%04d", i), Version: "v1.0.0"}
		if _, err := d.ts.Lookup(ctx, m); err != nil {
			return nil, err
		}
	}
	if c.preload {
		for _, m := range records.order {
			if _, err := d.ts.Lookup(ctx, m); err != nil {
				return nil, err
			}
		}
	}
	d.handler = sumdb.NewServer(d)
	return d, nil
}

// database implements sumdb.ServerOps over the TestServer, adding the
// misbehaviour modes.

func (d *database) Signed(ctx context.Context) ([]byte, error) {
	signed, err := d.ts.Signed(ctx)
	if err != nil || d.mode != "badsig" {
		return signed, err
	}
	return corruptSignatures(signed), nil
}

func (d *database) ReadRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	if m, ok := ctx.Value(keyLie).(module.Version); ok && d.lie != nil && n == 1 {
		if rec, ok := d.lie.record(m); ok {
			return [][]byte{rec}, nil
		}
	}
	if size, err := d.size(ctx); err != nil || id < 0 || n < 0 || id+n > size {
		return nil, fs.ErrNotExist // a tile beyond the tree: 404, as a real database
	}
	return d.ts.ReadRecords(ctx, id, n)
}

// size is the number of records in the tree.
func (d *database) size(ctx context.Context) (int64, error) {
	signed, err := d.ts.Signed(ctx)
	if err != nil {
		return 0, err
	}
	text, _, _ := strings.Cut(string(signed), "\n\n")
	tree, err := tlog.ParseTree([]byte(text + "\n"))
	return tree.N, err
}

func (d *database) Lookup(ctx context.Context, m module.Version) (int64, error) {
	id, err := d.ts.Lookup(ctx, m)
	if err != nil && d.lie != nil {
		// A lie about a module the tree does not hold: claim record 0.
		if _, ok := d.lie.record(m); ok {
			if size, err0 := d.size(ctx); err0 == nil && size > 0 {
				return 0, nil
			}
		}
	}
	return id, err
}

func (d *database) ReadTileData(ctx context.Context, t tlog.Tile) ([]byte, error) {
	size, err := d.size(ctx)
	if err != nil {
		return nil, err
	}
	// The tile's last hash covers records up to (N*2^H+W) << (H*L).
	if t.H <= 0 || t.H > 30 || t.L < 0 || t.L > 10 || t.N < 0 || t.W <= 0 || t.W > 1<<uint(t.H) {
		return nil, fs.ErrNotExist
	}
	end := (t.N<<uint(t.H) + int64(t.W)) << uint(t.H*t.L)
	if end > size {
		return nil, fs.ErrNotExist
	}
	return d.ts.ReadTileData(ctx, t)
}

// corruptSignatures flips one byte of every signature (after the 4-byte key hash).
func corruptSignatures(signed []byte) []byte {
	text := string(signed)
	i := strings.Index(text, "\n\n")
	if i < 0 {
		return signed
	}
	head, sigs := text[:i+2], text[i+2:]
	var out strings.Builder
	out.WriteString(head)
	for _, line := range strings.SplitAfter(sigs, "\n") {
		const dash = "\u2014 "
		if strings.HasPrefix(line, dash) {
			rest := strings.TrimSuffix(line[len(dash):], "\n")
			if name, b64, ok := strings.Cut(rest, " "); ok {
				if raw, err := base64.StdEncoding.DecodeString(b64); err == nil && len(raw) > 4 {
					raw[len(raw)-1] ^= 0x01
					line = dash + name + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
				}
			}
		}
		out.WriteString(line)
	}
	return []byte(out.String())
}
