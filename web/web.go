// Package web is Vigie's console for identity-vigilance staff, clinicians
// and medical physicists: static pages (HTML, CSS and plain JavaScript,
// embedded in the binary with go:embed, no build step) that call the Connect
// API from the browser with Connect's JSON protocol, on the same origin.
//
// The handler owns GET and HEAD of "/" (the console page) and of
// "/console/…" (its scripts and styles); mount it as the catch-all "/" of
// the server's mux, after the API routes, which are more specific. The pages
// keep the caller's API token in sessionStorage and nothing else: no patient
// data is stored in the browser.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is the path under which the console's assets are served.
const Prefix = "/console/"

// asset is one embedded file ready to serve: its bytes, a gzip copy when
// that is smaller, and a strong ETag over the content.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
	// version is the content hash the page appends to the asset's URL
	// (?v=…): a request naming the current version may be cached for good.
	version string
}

// securityHeaders are sent with every answer: the pages load nothing from
// other origins (the hospital network is closed, and a script from
// elsewhere could read patient data), may not be framed, and send no
// referrer.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

// Handler serves the console. "/" and "/index.html" answer the page;
// "/console/<file>" its assets; anything else is 404 and methods other than
// GET and HEAD are 405, so that a mistyped API call does not get HTML.
func Handler() http.Handler {
	assets := map[string]*asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		assets[strings.TrimPrefix(p, "static/")] = newAsset(p, b)
		return nil
	})
	if err != nil {
		// The files are compiled in: failing to read them is a build fault.
		panic("web: embedded assets: " + err.Error())
	}
	// The page names its scripts and styles with their version, so that a
	// returning browser loads them from its cache without asking, and a
	// new binary's page asks for the new ones.
	page := string(assets["index.html"].body)
	for name, a := range assets {
		page = strings.ReplaceAll(page, `"`+Prefix+name+`"`, `"`+Prefix+name+"?v="+a.version+`"`)
	}
	assets["index.html"] = newAsset("index.html", []byte(page))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var name string
		switch {
		case r.URL.Path == "/" || r.URL.Path == "/index.html":
			name = "index.html"
		case strings.HasPrefix(r.URL.Path, Prefix):
			name = strings.TrimPrefix(r.URL.Path, Prefix)
		}
		a := assets[name]
		if a == nil || name == "index.html" && r.URL.Path != "/" && r.URL.Path != "/index.html" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		for k, v := range securityHeaders {
			h.Set(k, v)
		}
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		if name != "index.html" && r.URL.RawQuery == "v="+a.version {
			h.Set("Cache-Control", "private, max-age=31536000, immutable")
		} else {
			// Revalidate: a new binary must not run with last week's
			// page, and a 304 costs one round trip on the LAN.
			h.Set("Cache-Control", "no-cache")
		}
		h.Add("Vary", "Accept-Encoding")
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := a.body
		if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body = a.gz
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		// A write fails only when the browser went away: nobody is left
		// to tell, and its next request asks again.
		_, _ = w.Write(body)
	})
}

func newAsset(name string, b []byte) *asset {
	sum := sha256.Sum256(b)
	v := base64.RawURLEncoding.EncodeToString(sum[:12])
	a := &asset{body: b, etag: `"` + v + `"`, version: v}
	a.contentType = mime.TypeByExtension(path.Ext(name))
	if a.contentType == "" {
		a.contentType = "application/octet-stream"
	}
	if gz, err := gzipped(b); err != nil {
		// Served uncompressed: still correct, and a build that cannot
		// compress its assets should show it.
		slog.Warn("web: an asset is served uncompressed", "asset", name, "error", err.Error())
	} else if len(gz) < len(b) {
		a.gz = gz
	}
	return a
}

// gzipped compresses b at the best compression.
func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip (present
// and not with q=0).
func acceptsGzip(v string) bool {
	for _, part := range strings.Split(v, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q := 1.0
		if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
