package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/module"
)

type behaviour struct {
	kind   string // serve, status, flaky, auth, nosumdb, hang
	status int    // status:N
	flaky  int    // flaky:K
	user   string // auth:USER:PASS
	pass   string
}

func parseBehaviour(s string) (behaviour, error) {
	kind, arg, _ := strings.Cut(s, ":")
	b := behaviour{kind: kind}
	switch kind {
	case "serve", "nosumdb", "hang":
		if arg != "" {
			return b, fmt.Errorf("behaviour %q takes no argument", kind)
		}
	case "status":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 100 || n > 999 {
			return b, fmt.Errorf("bad status in %q", s)
		}
		b.status = n
	case "flaky":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return b, fmt.Errorf("bad count in %q", s)
		}
		b.flaky = n
	case "auth":
		u, p, ok := strings.Cut(arg, ":")
		if !ok {
			return b, fmt.Errorf("auth wants auth:USER:PASS, got %q", s)
		}
		b.user, b.pass = u, p
	default:
		return b, fmt.Errorf("unknown behaviour %q", s)
	}
	return b, nil
}

type route struct {
	prefix     string // no trailing slash; "" matches everything
	db         bool   // a -dbroute: the database itself at PREFIX/{lookup,latest,tile}
	behaviours []behaviour

	mu   sync.Mutex
	hits map[string]int // flaky: requests seen per path
}

func (rt *route) has(kind string) bool {
	for _, b := range rt.behaviours {
		if b.kind == kind {
			return true
		}
	}
	return false
}

type router struct {
	proxyRoot string
	db        *database
	routes    []*route // longest prefix first
}

func normPrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

func newRouter(proxyRoot string, db *database, routes, dbRoutes []string) (*router, error) {
	r := &router{proxyRoot: proxyRoot, db: db}
	byKey := map[string]*route{}
	add := func(spec string, isDB bool) error {
		prefix, beh, hasBeh := strings.Cut(spec, "=")
		if !hasBeh && !isDB {
			return fmt.Errorf("-route wants PREFIX=BEHAVIOUR, got %q", spec)
		}
		prefix = normPrefix(prefix)
		key := fmt.Sprintf("%v %s", isDB, prefix)
		rt := byKey[key]
		if rt == nil {
			rt = &route{prefix: prefix, db: isDB, hits: map[string]int{}}
			byKey[key] = rt
			r.routes = append(r.routes, rt)
		}
		if hasBeh {
			b, err := parseBehaviour(beh)
			if err != nil {
				return err
			}
			rt.behaviours = append(rt.behaviours, b)
		}
		return nil
	}
	for _, s := range routes {
		if err := add(s, false); err != nil {
			return nil, err
		}
	}
	for _, s := range dbRoutes {
		if err := add(s, true); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(r.routes, func(i, j int) bool {
		return len(r.routes[i].prefix) > len(r.routes[j].prefix)
	})
	return r, nil
}

func (r *router) match(p string) (*route, string) {
	for _, rt := range r.routes {
		if rt.prefix == "" {
			return rt, p
		}
		if p == rt.prefix {
			return rt, "/"
		}
		if strings.HasPrefix(p, rt.prefix+"/") {
			return rt, p[len(rt.prefix):]
		}
	}
	return nil, ""
}

func (r *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rt, rest := r.match(req.URL.Path)
	if rt == nil {
		http.NotFound(w, req)
		return
	}
	for _, b := range rt.behaviours {
		switch b.kind {
		case "hang":
			if logged, ok := req.Context().Value(keyLogged).(*bool); ok {
				*logged = true
			}
			theLog.request(req, 0)
			<-req.Context().Done()
			return
		case "status":
			http.Error(w, fmt.Sprintf("netfix: status %d", b.status), b.status)
			return
		case "auth":
			u, p, ok := req.BasicAuth()
			if !ok || u != b.user || p != b.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="netfix"`)
				http.Error(w, "netfix: authentication required", http.StatusUnauthorized)
				return
			}
		case "flaky":
			rt.mu.Lock()
			n := rt.hits[req.URL.Path]
			rt.hits[req.URL.Path] = n + 1
			rt.mu.Unlock()
			if n < b.flaky {
				http.Error(w, "netfix: flaky", http.StatusServiceUnavailable)
				return
			}
		}
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "netfix: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if rt.db {
		r.serveDB(w, req, rest, false)
		return
	}
	if strings.HasPrefix(rest, "/sumdb/") {
		if rt.has("nosumdb") || r.db == nil {
			http.NotFound(w, req)
			return
		}
		name, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/sumdb/"), "/")
		if name != r.db.name {
			http.NotFound(w, req)
			return
		}
		r.serveDB(w, req, "/"+sub, true)
		return
	}
	r.serveFile(w, req, rest)
}

func (r *router) serveDB(w http.ResponseWriter, req *http.Request, sub string, viaProxy bool) {
	if r.db == nil {
		http.NotFound(w, req)
		return
	}
	if sub == "/supported" {
		if viaProxy {
			w.WriteHeader(http.StatusOK)
		} else {
			http.NotFound(w, req)
		}
		return
	}
	ctx := req.Context()
	if r.db.lie != nil && strings.HasPrefix(sub, "/lookup/") {
		escPath, escVers, _ := strings.Cut(strings.TrimPrefix(sub, "/lookup/"), "@")
		p, err1 := module.UnescapePath(escPath)
		v, err2 := module.UnescapeVersion(escVers)
		if err1 == nil && err2 == nil {
			ctx = context.WithValue(ctx, keyLie, module.Version{Path: p, Version: v})
		}
	}
	r2 := req.Clone(ctx)
	r2.URL.Path = sub
	r2.URL.RawPath = ""
	r.db.handler.ServeHTTP(w, r2)
}

func (r *router) serveFile(w http.ResponseWriter, req *http.Request, rest string) {
	if r.proxyRoot == "" {
		http.NotFound(w, req)
		return
	}
	clean := path.Clean("/" + rest)
	full := filepath.Join(r.proxyRoot, filepath.FromSlash(clean))
	st, err := os.Stat(full)
	if err != nil || st.IsDir() {
		http.NotFound(w, req)
		return
	}
	f, err := os.Open(full)
	if err != nil {
		http.NotFound(w, req)
		return
	}
	defer f.Close()
	switch {
	case strings.HasSuffix(clean, ".zip"):
		w.Header().Set("Content-Type", "application/zip")
	case strings.HasSuffix(clean, ".info"):
		w.Header().Set("Content-Type", "application/json")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	http.ServeContent(w, req, "", st.ModTime(), f)
}
