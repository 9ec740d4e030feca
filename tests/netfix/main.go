// Command netfix is the network fixture server for gobuildr's offline
// integration tests: a module proxy over HTTPS (test CA) and plain HTTP,
// a checksum database (optionally misbehaving), per-prefix failure
// behaviours and an HTTP CONNECT proxy. See tests/it/netfix.rs.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var (
	flagState     = flag.String("state", "", "state directory (ca.pem, ready.json, requests.log)")
	flagNames     = flag.String("names", "", "comma-separated extra DNS names for the server certificate")
	flagProxyRoot = flag.String("proxy-root", "", "GOPROXY file tree to serve")
	flagConnect   = flag.Bool("connect", false, "also run an HTTP CONNECT proxy")
	flagConnAuth  = flag.String("connect-auth", "", "USER:PASS required by the CONNECT proxy")
	flagStdinEOF  = flag.Bool("exit-on-stdin-eof", false, "exit when stdin closes")

	flagSumName    = flag.String("sumdb-name", "", "enable a checksum database with this name")
	flagSumSkey    = flag.String("sumdb-skey", "", "signer key file (generated if missing; vkey in FILE.vkey)")
	flagSumRecords = flag.String("sumdb-records", "", "go.sum-format lines the database knows")
	flagSumFiller  = flag.Int("sumdb-filler", 0, "synthetic records added first")
	flagSumPreload = flag.Bool("sumdb-preload", false, "look up every record at start-up, in file order")
	flagSumMode    = flag.String("sumdb-mode", "normal", "normal|badsig|lie")
	flagSumLie     = flag.String("sumdb-lie", "", "go.sum-format lines served by /lookup in lie mode")

	routeFlags   multiFlag
	dbRouteFlags multiFlag
)

func main() {
	flag.Var(&routeFlags, "route", "PREFIX=BEHAVIOUR (repeatable; repeating a prefix adds behaviours)")
	flag.Var(&dbRouteFlags, "dbroute", "PREFIX[=BEHAVIOUR]: the database served directly (repeatable)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("netfix: ")
	if *flagState == "" {
		log.Fatal("-state is required")
	}
	if err := os.MkdirAll(*flagState, 0o755); err != nil {
		log.Fatal(err)
	}
	if *flagStdinEOF {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}

	reqlog, err := openRequestLog(filepath.Join(*flagState, "requests.log"))
	if err != nil {
		log.Fatal(err)
	}

	var db *database
	if *flagSumName != "" {
		db, err = newDatabase(dbConfig{
			name:    *flagSumName,
			skey:    *flagSumSkey,
			records: *flagSumRecords,
			filler:  *flagSumFiller,
			preload: *flagSumPreload,
			mode:    *flagSumMode,
			lie:     *flagSumLie,
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	rt, err := newRouter(*flagProxyRoot, db, routeFlags, dbRouteFlags)
	if err != nil {
		log.Fatal(err)
	}
	theLog = reqlog
	handler := reqlog.wrap(rt)

	var names []string
	for _, n := range strings.Split(*flagNames, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	caPEM, leaf, err := makeCerts(names)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*flagState, "ca.pem"), caPEM, 0o644); err != nil {
		log.Fatal(err)
	}

	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	quiet := log.New(io.Discard, "", 0)
	tlsSrv := &http.Server{
		Handler:   handler,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf}},
		ErrorLog:  quiet,
	}
	plainSrv := &http.Server{Handler: handler, ErrorLog: quiet}
	go func() { log.Fatal(tlsSrv.ServeTLS(tlsLn, "", "")) }()
	go func() { log.Fatal(plainSrv.Serve(plainLn)) }()

	connectAddr := ""
	if *flagConnect {
		cLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		cp := &connectProxy{
			tlsAddr:   tlsLn.Addr().String(),
			plainAddr: plainLn.Addr().String(),
			auth:      *flagConnAuth,
			log:       reqlog,
		}
		cSrv := &http.Server{Handler: cp, ErrorLog: quiet}
		go func() { log.Fatal(cSrv.Serve(cLn)) }()
		connectAddr = cLn.Addr().String()
	}

	vkey := ""
	if db != nil {
		vkey = db.vkey
	}
	ready, _ := json.Marshal(map[string]string{
		"https":   tlsLn.Addr().String(),
		"http":    plainLn.Addr().String(),
		"connect": connectAddr,
		"vkey":    vkey,
	})
	if err := writeAtomic(filepath.Join(*flagState, "ready.json"), append(ready, '\n')); err != nil {
		log.Fatal(err)
	}
	select {}
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// theLog is the process's request log.
var theLog *requestLog

// requestLog appends one line per request: METHOD HOST PATH STATUS auth=yes|no.
type requestLog struct {
	mu sync.Mutex
	f  *os.File
}

func openRequestLog(path string) (*requestLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &requestLog{f: f}, nil
}

func (l *requestLog) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.WriteString(s + "\n") // unbuffered: on disk at once
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type ctxKey int

const (
	keyLogged ctxKey = iota // *bool: the handler already logged this request
	keyLie                  // module.Version for a lie-mode lookup
)

// wrap logs every request after it is answered (hanging requests are
// logged when they arrive, with status 0).
func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logged := false
		r = r.WithContext(context.WithValue(r.Context(), keyLogged, &logged))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if e := recover(); e != nil {
				log.Printf("panic serving %s: %v", r.URL.Path, e)
				if sw.status == 0 {
					http.Error(sw, "netfix: internal error", http.StatusInternalServerError)
				}
				l.request(r, http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(sw, r)
		if logged {
			return
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		l.request(r, status)
	})
}

func (l *requestLog) request(r *http.Request, status int) {
	l.line(fmt.Sprintf("%s %s %s %d auth=%s", r.Method, hostOnly(r.Host), r.URL.Path, status,
		yesNo(r.Header.Get("Authorization") != "")))
}
