package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// connectProxy tunnels every CONNECT to the HTTPS listener, whatever host
// is asked, and forwards absolute-URI requests to the plain HTTP listener.
type connectProxy struct {
	tlsAddr, plainAddr string
	auth               string // USER:PASS or ""
	log                *requestLog
}

func (p *connectProxy) authorized(r *http.Request) bool {
	if p.auth == "" {
		return true
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.auth))
	return r.Header.Get("Proxy-Authorization") == want
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hasAuth := yesNo(r.Header.Get("Proxy-Authorization") != "")
	if r.Method == http.MethodConnect {
		if !p.authorized(r) {
			p.log.line(fmt.Sprintf("CONNECT %s %d auth=%s", r.Host, http.StatusProxyAuthRequired, hasAuth))
			w.Header().Set("Proxy-Authenticate", `Basic realm="netfix"`)
			http.Error(w, "netfix: proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		up, err := net.Dial("tcp", p.tlsAddr)
		if err != nil {
			p.log.line(fmt.Sprintf("CONNECT %s %d auth=%s", r.Host, http.StatusBadGateway, hasAuth))
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			up.Close()
			http.Error(w, "netfix: cannot hijack", http.StatusInternalServerError)
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		p.log.line(fmt.Sprintf("CONNECT %s %d auth=%s", r.Host, http.StatusOK, hasAuth))
		rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
		rw.Flush()
		if n := rw.Reader.Buffered(); n > 0 {
			b, _ := rw.Reader.Peek(n)
			up.Write(b)
		}
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, conn); closeWrite(up); done <- struct{}{} }()
		go func() { io.Copy(conn, up); closeWrite(conn); done <- struct{}{} }()
		<-done
		<-done
		conn.Close()
		up.Close()
		return
	}

	if r.URL.Host == "" {
		http.Error(w, "netfix: not a proxy request", http.StatusBadRequest)
		return
	}
	target := r.URL.String()
	if !p.authorized(r) {
		p.log.line(fmt.Sprintf("PROXY %s %s %d auth=%s", r.Method, target, http.StatusProxyAuthRequired, hasAuth))
		w.Header().Set("Proxy-Authenticate", `Basic realm="netfix"`)
		http.Error(w, "netfix: proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = "http"
	out.URL.Host = p.plainAddr
	out.Host = r.Host
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		p.log.line(fmt.Sprintf("PROXY %s %s %d auth=%s", r.Method, target, http.StatusBadGateway, hasAuth))
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.log.line(fmt.Sprintf("PROXY %s %s %d auth=%s", r.Method, target, resp.StatusCode, hasAuth))
	for k, vs := range resp.Header {
		if strings.EqualFold(k, "Connection") {
			continue
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		c.Close()
	}
}
