package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vigie/rpc"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/web"
)

func TestHandler(t *testing.T) {
	h := web.Handler()
	for _, tc := range []struct {
		method, path, accept string
		status               int
		contentType, body    string
		gzip                 bool
	}{
		{"GET", "/", "", 200, "text/html; charset=utf-8", `<html lang="fr">`, false},
		{"GET", "/index.html", "", 200, "text/html; charset=utf-8", `<label for="reason">`, false},
		{"GET", "/console/app.js", "", 200, "text/javascript; charset=utf-8", "sessionStorage", false},
		{"GET", "/console/app.js", "gzip, deflate", 200, "text/javascript; charset=utf-8", "sessionStorage", true},
		{"GET", "/console/app.js", "gzip;q=0", 200, "text/javascript; charset=utf-8", "sessionStorage", false},
		{"GET", "/console/app.css", "", 200, "text/css; charset=utf-8", "@media print", false},
		{"HEAD", "/console/dose.js", "", 200, "text/javascript; charset=utf-8", "", false},
		{"GET", "/console/index.html", "", 404, "", "", false},
		{"GET", "/console/", "", 404, "", "", false},
		{"GET", "/console/../web.go", "", 404, "", "", false},
		{"GET", "/favicon.ico", "", 404, "", "", false},
		{"GET", "/vigie.v1.IdentityService/SearchIdentities", "", 404, "", "", false},
		{"POST", "/", "", 405, "", "", false},
		{"POST", "/console/app.js", "", 405, "", "", false},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.accept, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if got := w.Header().Get("Content-Encoding") == "gzip"; got != tc.gzip {
				t.Errorf("gzip %v, want %v", got, tc.gzip)
			}
			body := w.Body.Bytes()
			if tc.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD answered %d bytes", len(body))
			}
			if !bytes.Contains(body, []byte(tc.body)) {
				t.Errorf("body lacks %q", tc.body)
			}
		})
	}
}

// TestHandlerVersionsAssets: the page names each asset with its content
// hash, and that URL may be cached for good; the bare URL revalidates.
func TestHandlerVersionsAssets(t *testing.T) {
	h := web.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	page := w.Body.String()
	if w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("page Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	for _, name := range []string{"app.js", "identity.js", "dose.js", "admin.js", "app.css"} {
		i := strings.Index(page, "/console/"+name+"?v=")
		if i < 0 {
			t.Errorf("the page does not name %s with its version", name)
			continue
		}
		url := page[i:]
		url = url[:strings.IndexByte(url, '"')]
		for _, tc := range []struct{ url, cache string }{
			{url, "private, max-age=31536000, immutable"},
			{"/console/" + name, "no-cache"},
			{"/console/" + name + "?v=old", "no-cache"},
		} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", tc.url, nil))
			if w.Code != 200 || w.Header().Get("Cache-Control") != tc.cache {
				t.Errorf("%s: %d, Cache-Control %q, want %q", tc.url, w.Code, w.Header().Get("Cache-Control"), tc.cache)
			}
		}
	}
}

// TestHandlerRevalidates: an unchanged asset answers 304 to its ETag.
func TestHandlerRevalidates(t *testing.T) {
	h := web.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/console/app.js", nil))
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, w.Header().Get("Cache-Control"))
	}
	for _, tc := range []struct {
		match  string
		status int
	}{{etag, 304}, {`"other", ` + etag, 304}, {`"other"`, 200}} {
		req := httptest.NewRequest("GET", "/console/app.js", nil)
		req.Header.Set("If-None-Match", tc.match)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("If-None-Match %s: status %d, want %d", tc.match, w.Code, tc.status)
		}
	}
}

// TestMountedBesideTheAPI mounts the console as serve.go must, at "/" with
// no method, beside the Connect handlers (which use POST and GET): the mux
// accepts both, and each request reaches its own handler.
func TestMountedBesideTheAPI(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(vigiev1connect.NewIdentityServiceHandler(&rpc.IdentityService{}))
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	mux.Handle("/", web.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		method, path, want string
		status             int
	}{
		{"GET", "/", "<!DOCTYPE html>", 200},
		{"GET", "/healthz", "ok", 200},
		// Routed to the Connect handler (with no search index here),
		// which answers a Connect error in JSON, not the console's page.
		{"POST", "/vigie.v1.IdentityService/SearchIdentities", `"code":"unavailable"`, 503},
		{"GET", "/nothing", "404", 404},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, res.StatusCode, b, tc.status, tc.want)
		}
	}
}
