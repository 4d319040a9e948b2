package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"vigie"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/synth"
)

// chromium returns the path of a Chromium (or Chrome) binary, or skips the
// test: the browser is an external input (Debian package chromium).
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VIGIE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (install the Debian package chromium, or set VIGIE_CHROMIUM): the console's browser tests need it")
	return ""
}

// browser starts a headless Chromium with a fresh profile and no
// background networking (the machine's network is closed), and collects
// the JavaScript exceptions and console errors of its pages.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	path := chromium(t)
	// A fresh profile, removed once the browser has exited (t.TempDir
	// could be removed while Chromium still writes to it).
	profile, err := os.MkdirTemp("", "vigie-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// Chromium is newer than the protocol bindings: events they cannot
	// decode are logged by chromedp and are not the console's faults.
	quiet := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") && !strings.Contains(msg, "unhandled node event") {
			t.Logf("chromedp: %s", msg)
		}
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(quiet), chromedp.WithLogf(quiet))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		// Chromium's helpers (crash handler, zygotes) may outlive the
		// browser and still write to the profile: wait for each to exit,
		// then remove it.
		if err := waitExited(profileUsers(profile), 10*time.Second); err != nil {
			t.Errorf("chromium: %v", err)
		}
		if err := os.RemoveAll(profile); err != nil {
			t.Errorf("remove chromium's profile: %v", err)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{ctx: ctx}
}

// profileUsers returns the processes whose command line names the
// profile folder: Chromium passes it to its helpers.
func profileUsers(profile string) []int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), profile) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitExited waits for the processes to exit, told by the kernel (a
// pidfd polls readable once its process has exited), at most max in all.
func waitExited(pids []int, max time.Duration) error {
	deadline := time.Now().Add(max)
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // already gone
		}
		for {
			ms := int(time.Until(deadline).Milliseconds())
			if ms <= 0 {
				unix.Close(fd)
				return fmt.Errorf("process %d still runs after %s", pid, max)
			}
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
			if err == unix.EINTR {
				continue
			}
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("wait for process %d: %w", pid, err)
			}
			if n == 0 {
				return fmt.Errorf("process %d still runs after %s", pid, max)
			}
			break
		}
	}
	return nil
}

// tab opens a new tab (its own sessionStorage: a fresh sign-in).
func (b *browser) tab(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.mu.Lock()
			b.errors = append(b.errors, ev.ExceptionDetails.Error())
			b.mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				b.mu.Lock()
				b.errors = append(b.errors, "console.error "+strings.Join(parts, " "))
				b.mu.Unlock()
			}
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (b *browser) checkErrors(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("browser: %s", e)
	}
}

// run runs browser actions with a deadline and fails the test on error,
// saying what the page showed in its error box.
func run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, pageError(ctx))
	}
}

func pageError(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var s string
	_ = chromedp.Run(ctx, chromedp.Evaluate(`location.hash + ' | ' + document.getElementById('alert').textContent + ' | ' + document.getElementById('status').textContent`, &s))
	return s
}

// waitJS polls a JavaScript condition until it is true.
func waitJS(expr string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var ok bool
			if err := chromedp.Evaluate("!!("+expr+")", &ok).Do(ctx); err != nil {
				return err
			}
			if ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
			case <-time.After(15 * time.Millisecond):
			}
		}
	})
}

// shots is where screenshots go: $VIGIE_SCREENSHOTS, or the test's temp dir.
func shots(t testing.TB) string {
	if d := os.Getenv("VIGIE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// auditJS lists the page's accessibility faults that a program can see:
// a form field without a label, a button without text, text whose contrast
// with its background is under the WCAG AA ratio (4.5:1, 3:1 for large
// text), a document not in French.
const auditJS = `(() => {
	const out = [];
	if (document.documentElement.lang !== 'fr') out.push('html lang is not fr');
	const visible = el => el.offsetParent !== null || getComputedStyle(el).position === 'fixed';
	for (const el of document.querySelectorAll('input, select, textarea')) {
		if (el.type === 'hidden' || !visible(el)) continue;
		if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) out.push('no label: ' + (el.id || el.name || el.outerHTML.slice(0, 60)));
	}
	for (const el of document.querySelectorAll('button, a[href]')) {
		if (visible(el) && !el.textContent.trim() && !el.getAttribute('aria-label')) out.push('no text: ' + el.outerHTML.slice(0, 60));
	}
	const rgb = c => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
	const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
		return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
	const background = el => {
		for (let e = el; e; e = e.parentElement) {
			const c = rgb(getComputedStyle(e).backgroundColor);
			if (c.length < 4 || c[3] > 0.5) return c;
		}
		return [255, 255, 255];
	};
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	const seen = new Set();
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const el = n.parentElement;
		if (!n.textContent.trim() || seen.has(el) || el.closest('svg') || !visible(el)) continue;
		seen.add(el);
		const st = getComputedStyle(el);
		const a = lum(rgb(st.color)), b = lum(background(el));
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
		const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
		if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': ' + n.textContent.trim().slice(0, 40));
	}
	return out;
})()`

func screenshot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	var faults []string
	run(t, ctx, "accessibility audit of "+name, chromedp.Evaluate(auditJS, &faults))
	for _, f := range faults {
		t.Errorf("page %s: %s", name, f)
	}
	var png []byte
	run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(&png, 100))
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func signIn(t testing.TB, ctx context.Context, url, token string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		waitJS(`!document.getElementById('nav').hidden && document.getElementById('page').children.length > 0 && !location.hash.startsWith('#/connexion')`))
}

// typo swaps two letters in the middle of a name.
func typo(name string) string {
	r := []rune(name)
	for i := len(r) / 2; i+1 < len(r); i++ {
		if r[i] != r[i+1] && unicode.IsLetter(r[i]) && unicode.IsLetter(r[i+1]) {
			r[i], r[i+1] = r[i+1], r[i]
			return string(r)
		}
	}
	return name
}

// searchTarget picks a generated person whose records all resolved to one
// identity, with a long plain name and a full birth date.
func (c *console) searchTarget(t testing.TB) (*synth.Record, string) {
	t.Helper()
	ids := make([]string, 0, len(c.people))
	for id := range c.people {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, pid := range ids {
		rs := c.people[pid]
		r := rs[0]
		if len(r.BirthName) < 7 || strings.ContainsAny(r.BirthName, " -'") || len(r.BirthDate) != 10 || r.FirstNames == "" || strings.Contains(r.BirthDate, "-00") {
			continue
		}
		var ident vigie.IdentityID
		same := true
		for _, x := range rs {
			id, err := c.index.IdentityOf(context.Background(), x.Authority, x.LocalID)
			if err != nil || ident != 0 && id != ident {
				same = false
				break
			}
			ident = id
		}
		if same {
			return r, ident.String()
		}
	}
	t.Fatal("no generated person fits the search test")
	return nil, ""
}

// TestConsoleInBrowser drives the console in headless Chromium against a
// real server: a clinician finds a patient despite a typo and reads their
// dose history (the figures shown are the API's), identity-vigilance staff
// merge a pair from the review queue and undo it from the history, and a
// physicist evaluates NRD and acknowledges an alert. Screenshots of every
// page are saved.
func TestConsoleInBrowser(t *testing.T) {
	chromium(t)
	t0 := time.Now()
	c := newConsole(t, 1500, 40)
	t.Logf("server over %d generated records built in %s", c.index.Count(), time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	b := newBrowser(t)
	t.Logf("chromium started in %s", time.Since(t0).Round(time.Millisecond))
	dir := shots(t)
	ctx := context.Background()

	t.Run("audit finds faults", func(t *testing.T) { auditFinds(t, b.tab(t), c.url) })

	t.Run("refused token", func(t *testing.T) {
		tab := b.tab(t)
		var alert string
		var nav bool
		run(t, tab, "sign in with a wrong token",
			chromedp.Navigate(c.url+"/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
			chromedp.SendKeys("#token", "vigie_not_a_key", chromedp.ByQuery), chromedp.Click("#signin", chromedp.ByQuery),
			waitJS(`!document.getElementById('alert').hidden`), chromedp.Sleep(100*time.Millisecond),
			chromedp.Evaluate(`document.getElementById('alert').textContent`, &alert),
			chromedp.Evaluate(`!document.getElementById('nav').hidden || sessionStorage.length > 0`, &nav))
		if !strings.HasPrefix(alert, "Jeton refusé") || nav {
			t.Errorf("a wrong token: alert %q, menu or storage %v", alert, nav)
		}
	})

	t.Run("identity provider sign-in", func(t *testing.T) {
		tab := b.tab(t)
		var who, hash string
		var stored bool
		run(t, tab, "sign in through the identity provider",
			chromedp.Navigate(c.url+"/"), chromedp.WaitVisible("#oidc-login", chromedp.ByQuery),
			chromedp.Click("#oidc-login", chromedp.ByQuery),
			// The tab passes through the issuer's pages: wait for the
			// console's own.
			waitJS(`!!document.getElementById('nav') && !document.getElementById('nav').hidden && !!document.body.dataset.ready && !location.hash.startsWith('#/connexion')`),
			chromedp.Evaluate(`document.getElementById('role-label').textContent`, &who),
			chromedp.Evaluate(`location.hash`, &hash),
			chromedp.Evaluate(`(sessionStorage.getItem('vigie.token') || '').split('.').length === 3`, &stored))
		if who != "dr.oidc — Clinicien" || hash != "#/recherche" || !stored {
			t.Errorf("after the identity provider: shown as %q on %q, token kept %v; want dr.oidc — Clinicien on #/recherche", who, hash, stored)
		}
	})

	t.Run("clinician", func(t *testing.T) {
		tab := b.tab(t)
		screenshotSignIn(t, tab, c.url, dir)
		signIn(t, tab, c.url, c.tokens["clinician"])
		var reviewHidden, analyticsHidden bool
		run(t, tab, "nav", chromedp.Evaluate(`document.querySelector('#nav li[data-needs=review]').hidden`, &reviewHidden),
			chromedp.Evaluate(`document.querySelector('#nav li[data-needs=analytics]').hidden`, &analyticsHidden))
		if !reviewHidden || !analyticsHidden {
			t.Errorf("a clinician sees the review queue (%v) or dose analytics (%v) in the menu", !reviewHidden, !analyticsHidden)
		}

		// Keyboard: the skip link is the first stop of the page, and Tab
		// goes through the search fields in reading order.
		var firstStop string
		var order []string
		run(t, tab, "keyboard",
			chromedp.Navigate(c.url+"/#/recherche"), waitJS(`document.body.dataset.ready`),
			chromedp.Evaluate(`document.querySelector('a[href], button, input, select, textarea').className`, &firstStop),
			chromedp.Focus("#s-ins", chromedp.ByQuery),
			chromedp.ActionFunc(func(ctx context.Context) error {
				for range 4 {
					if err := chromedp.KeyEvent(kb.Tab).Do(ctx); err != nil {
						return err
					}
					var id string
					if err := chromedp.Evaluate(`document.activeElement.id`, &id).Do(ctx); err != nil {
						return err
					}
					order = append(order, id)
				}
				return nil
			}))
		if want := []string{"skip", "s-authority", "s-localid", "s-name", "s-first"}; strings.Join(append([]string{firstStop}, order...), " ") != strings.Join(want, " ") {
			t.Errorf("keyboard order %v, want %v", order, want)
		}

		r, want := c.searchTarget(t)
		name := typo(r.BirthName)
		if name == r.BirthName {
			t.Fatalf("no typo made in %q", r.BirthName)
		}
		run(t, tab, "search",
			chromedp.Navigate(c.url+"/#/recherche"),
			chromedp.WaitVisible("#s-name", chromedp.ByQuery),
			chromedp.SendKeys("#s-name", name, chromedp.ByQuery),
			chromedp.SendKeys("#s-first", strings.Fields(r.FirstNames)[0], chromedp.ByQuery),
			chromedp.SendKeys("#s-birth", r.BirthDate[8:10]+"/"+r.BirthDate[5:7]+"/"+r.BirthDate[:4], chromedp.ByQuery),
			chromedp.Click("#s-go", chromedp.ByQuery),
			waitJS(`document.querySelector('#results .result')`))
		var first string
		var matched []string
		run(t, tab, "results", chromedp.Evaluate(`document.querySelector('#results .result').dataset.identity`, &first),
			chromedp.Evaluate(`Array.from(document.querySelectorAll('#results .result:first-child li.match')).map(e => e.dataset.field)`, &matched))
		if first != want {
			t.Errorf("search %q (typo of the birth name) ranks %s first, want %s", name, first, want)
		}
		for _, f := range []string{"birth_date", "first_name"} {
			if !contains(matched, f) {
				t.Errorf("first result highlights %v as matched, want %s among them", matched, f)
			}
		}
		screenshot(t, tab, dir, "recherche")

		run(t, tab, "identity page",
			chromedp.Click(`#results .result:first-child h3 a`, chromedp.ByQuery),
			waitJS(`document.getElementById('golden') && document.getElementById('events')`))
		var events int
		run(t, tab, "events", chromedp.Evaluate(`document.querySelectorAll('#events li').length`, &events))
		if events == 0 {
			t.Error("the identity page shows no history")
		}
		// The page speaks French and names establishments: no OID, no
		// actor or reason of the index in English.
		var page string
		run(t, tab, "identity text", chromedp.Evaluate(`document.getElementById('sources').innerText + '\n' + document.getElementById('events').innerText + '\n' + document.getElementById('golden').innerText`, &page))
		checkFrench(t, "identity page", page)
		screenshot(t, tab, dir, "identite")

		checkDoseHistory(t, c, tab, dir)
	})

	t.Run("vigilance", func(t *testing.T) {
		tab := b.tab(t)
		signIn(t, tab, c.url, c.tokens["vigilance"])
		list, err := c.identity("vigilance").ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{PageSize: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Msg.GetReviews()) == 0 {
			t.Fatal("the generated population queued no review")
		}
		rv := list.Msg.GetReviews()[0]
		merged, survivor := rv.GetIdentityId(), rv.GetCandidates()[0].GetIdentityId()
		run(t, tab, "review queue",
			waitJS(`location.hash === '#/revue' && document.querySelector('#reviews .review svg.waterfall')`))
		var shown string
		var cards int
		var more bool
		run(t, tab, "first review", chromedp.Evaluate(`document.querySelector('#reviews .review').dataset.review`, &shown),
			chromedp.Evaluate(`document.querySelectorAll('#reviews .review').length`, &cards),
			chromedp.Evaluate(`!document.getElementById('more-reviews').hidden`, &more))
		if shown != rv.GetId() {
			t.Errorf("the queue shows review %s first, the API %s", shown, rv.GetId())
		}
		all, err := c.identity("vigilance").ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{PageSize: 11}))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(all.Msg.GetReviews()); cards != min(n, 10) || more != (n > 10) {
			t.Errorf("the queue shows %d pairs (more: %v) of %d pending, want ten at most and a button for the rest", cards, more, n)
		}
		var card string
		run(t, tab, "review text", chromedp.Evaluate(`document.querySelector('#reviews .review').innerText`, &card))
		checkFrench(t, "review card", card)
		if !strings.Contains(card, "IPP "+rv.GetRecord().GetLocalId()+" — "+rv.GetSite()) {
			t.Errorf("the review card does not name the record's establishment %q:\n%s", rv.GetSite(), card)
		}
		screenshot(t, tab, dir, "revue")

		// A decision without a reason is not sent, and Escape cancels.
		var open bool
		run(t, tab, "empty reason",
			chromedp.Click(`#reviews .review button[data-action="skip"]`, chromedp.ByQuery),
			waitJS(`document.getElementById('reason-dialog').open`),
			chromedp.Click("#reason-ok", chromedp.ByQuery),
			chromedp.Sleep(100*time.Millisecond),
			chromedp.Evaluate(`document.getElementById('reason-dialog').open`, &open))
		if !open {
			t.Error("the reason dialog closed with an empty reason")
		}
		run(t, tab, "escape", chromedp.KeyEvent(kb.Escape), waitJS(`!document.getElementById('reason-dialog').open`))
		again, err := c.identity("vigilance").ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{PageSize: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if again.Msg.GetReviews()[0].GetId() != rv.GetId() {
			t.Errorf("a cancelled decision changed the queue: review %s first, was %s", again.Msg.GetReviews()[0].GetId(), rv.GetId())
		}

		reason(t, tab, `#reviews .review button[data-action="merge"]`, "même patiente : pièce d'identité vérifiée")
		run(t, tab, "after merge",
			waitJS(fmt.Sprintf(`location.hash === '#/identite/%s' && document.querySelector('#events li[data-kind="merge"] button[data-action="unmerge"]')`, survivor)))
		if got := liveID(t, c, merged); got != survivor {
			t.Fatalf("after the merge, %s leads to %s, want %s", merged, got, survivor)
		}
		screenshot(t, tab, dir, "fusion")
		// The merged id now leads to the survivor, and the page says so.
		var redirect string
		run(t, tab, "merged id",
			chromedp.Navigate(c.url+"/#/identite/"+merged), waitJS(`document.body.dataset.ready && document.getElementById('golden')`),
			chromedp.Evaluate(`(document.querySelector('#page .warning') || {}).textContent || ''`, &redirect))
		if !strings.Contains(redirect, merged) || !strings.Contains(redirect, survivor) {
			t.Errorf("opening merged identity %s: warning %q, want it to name the survivor %s", merged, redirect, survivor)
		}
		run(t, tab, "back to survivor", chromedp.Navigate(c.url+"/#/identite/"+survivor),
			waitJS(`document.querySelector('#events li[data-kind="merge"] button[data-action="unmerge"]')`))

		reason(t, tab, `#events li[data-kind="merge"] button[data-action="unmerge"]`, "fusion faite par erreur")
		run(t, tab, "after unmerge", waitJS(`document.querySelector('#events li[data-kind="unmerge"]')`))
		if got := liveID(t, c, merged); got != merged {
			t.Errorf("after the unmerge, %s leads to %s, want itself", merged, got)
		}
		screenshot(t, tab, dir, "defusion")

		// Unlink a record from a two-record identity, and undo it from
		// the history.
		ident := c.twoRecords(t)
		run(t, tab, "identity with two records",
			chromedp.Navigate(c.url+"/#/identite/"+ident), waitJS(`document.querySelectorAll('#sources button[data-action="unlink"]').length === 2`))
		var key struct{ Authority, LocalID string }
		run(t, tab, "first source", chromedp.Evaluate(`(() => { const th = document.querySelectorAll('#sources thead th')[1];
			return {Authority: th.dataset.authority, LocalID: th.dataset.localId}; })()`, &key))
		if key.Authority == "" {
			t.Fatal("the sources table does not name its records")
		}
		reason(t, tab, `#sources button[data-action="unlink"]`, "dossier d'un homonyme")
		run(t, tab, "after unlink", waitJS(`document.querySelectorAll('#sources button[data-action="unlink"]').length === 1 && document.querySelector('#events li[data-kind="unlink"] button[data-action="link"]')`))
		if got, err := c.index.IdentityOf(ctx, key.Authority, key.LocalID); err != nil || got.String() == ident {
			t.Fatalf("after the unlink, %s %s is in %v (%v), want a new identity", key.Authority, key.LocalID, got, err)
		}
		reason(t, tab, `#events li[data-kind="unlink"] button[data-action="link"]`, "détachement fait par erreur")
		run(t, tab, "after relink", waitJS(`document.querySelectorAll('#sources button[data-action="unlink"]').length === 2`))
		if got, err := c.index.IdentityOf(ctx, key.Authority, key.LocalID); err != nil || got.String() != ident {
			t.Errorf("after undoing the unlink, %s %s is in %v (%v), want %s", key.Authority, key.LocalID, got, err, ident)
		}
	})

	t.Run("physicist", func(t *testing.T) {
		tab := b.tab(t)
		signIn(t, tab, c.url, c.tokens["physicist"])
		run(t, tab, "analytics",
			waitJS(`location.hash === '#/analyse' && document.getElementById('nrd-form')`),
			chromedp.SetValue("#n-site", c.site, chromedp.ByQuery),
			chromedp.SetValue("#n-since", "2022-01-01", chromedp.ByQuery),
			chromedp.SetValue("#n-until", "2024-12-31", chromedp.ByQuery),
			chromedp.Click("#n-go", chromedp.ByQuery),
			waitJS(`document.querySelector('#nrd-table') && document.querySelector('#nrd-chart')`),
			waitJS(`document.getElementById('alerts-table') || /Aucune alerte/.test(document.getElementById('alerts').textContent)`))
		ev, err := c.dose("physicist").EvaluateNrd(ctx, connect.NewRequest(&v1.EvaluateNrdRequest{Site: c.site, Since: "2022-01-01", Until: "2024-12-31"}))
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		run(t, tab, "nrd rows", chromedp.Evaluate(`document.querySelectorAll('#nrd-table tbody tr').length`, &rows))
		if rows != len(ev.Msg.GetEvaluations()) {
			t.Errorf("NRD table shows %d evaluations, the API %d", rows, len(ev.Msg.GetEvaluations()))
		}
		// Exam types and indicators by their French names, not their codes.
		var nrdText string
		run(t, tab, "nrd text", chromedp.Evaluate(`document.getElementById('nrd-table').innerText + '\n' + document.getElementById('nrd-chart').textContent`, &nrdText))
		for _, e := range ev.Msg.GetEvaluations() {
			if e.GetExamTypeLabel() == "" {
				t.Errorf("evaluation of exam type %s has no label", e.GetExamType())
			} else if !strings.Contains(nrdText, e.GetExamTypeLabel()) {
				t.Errorf("the NRD table does not name exam type %s by its label %q", e.GetExamType(), e.GetExamTypeLabel())
			}
			if strings.Contains(e.GetExamType(), "_") && regexp.MustCompile(`\b`+regexp.QuoteMeta(e.GetExamType())+`\b`).MatchString(nrdText) {
				t.Errorf("the NRD table shows the code %s", e.GetExamType())
			}
		}
		for _, code := range []string{"ctdivol", "dlp", "pds"} {
			if regexp.MustCompile(`\b` + code + `\b`).MatchString(nrdText) {
				t.Errorf("the NRD table shows the indicator code %s:\n%s", code, nrdText)
			}
		}
		screenshot(t, tab, dir, "analyse")

		pending := func() int {
			r, err := c.dose("physicist").ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{PageSize: 1000}))
			if err != nil {
				t.Fatal(err)
			}
			return len(r.Msg.GetAlerts())
		}
		before := pending()
		if before == 0 {
			t.Fatal("the generated exams raised no alert")
		}
		reason(t, tab, `#alerts-table button[data-action="ack"]`, "dose justifiée par la complexité de l'acte")
		run(t, tab, "after ack", waitJS(fmt.Sprintf(`document.querySelectorAll('#alerts-table button[data-action="ack"]').length === %d`, before-1)))
		if after := pending(); after != before-1 {
			t.Errorf("pending alerts: %d after acknowledging one of %d", after, before)
		}
	})
	b.checkErrors(t)
}

// auditFinds checks that the audit run on every page would report the
// faults it looks for.
func auditFinds(t *testing.T, tab context.Context, url string) {
	var faults []string
	run(t, tab, "audit", chromedp.Navigate(url+"/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.Evaluate(`(() => {
			const p = document.createElement('p'); p.textContent = 'texte trop pâle'; p.style.color = '#b0b0b0';
			const i = document.createElement('input'); i.id = 'sans-label';
			const btn = document.createElement('button');
			document.getElementById('page').append(p, i, btn);
		})()`, nil),
		chromedp.Evaluate(auditJS, &faults))
	want := []string{"no label: sans-label", "no text: <button", "contrast 2.17 < 4.5: texte trop pâle"}
	if len(faults) != len(want) {
		t.Fatalf("audit found %q, want %d faults", faults, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(faults[i], w) {
			t.Errorf("fault %d: %q, want %q…", i, faults[i], w)
		}
	}
}

func screenshotSignIn(t *testing.T, tab context.Context, url, dir string) {
	run(t, tab, "sign-in page", chromedp.Navigate(url+"/"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	var focused string
	run(t, tab, "focus", chromedp.Evaluate(`document.activeElement.id`, &focused))
	if focused != "token" {
		t.Errorf("the sign-in page focuses %q, want the token field", focused)
	}
	screenshot(t, tab, dir, "connexion")
}

// reason clicks a button that asks for a reason, fills the dialog and
// confirms.
func reason(t testing.TB, tab context.Context, button, text string) {
	t.Helper()
	run(t, tab, "click "+button,
		chromedp.Click(button, chromedp.ByQuery),
		waitJS(`document.getElementById('reason-dialog').open && document.activeElement.id === 'reason'`),
		chromedp.SendKeys("#reason", text, chromedp.ByQuery),
		chromedp.Click("#reason-ok", chromedp.ByQuery),
		waitJS(`!document.getElementById('reason-dialog').open`))
}

// twoRecords returns an identity with exactly two source records.
func (c *console) twoRecords(t testing.TB) string {
	t.Helper()
	ids := make([]string, 0, len(c.people))
	for id := range c.people {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, pid := range ids {
		r := c.people[pid][0]
		id, err := c.index.IdentityOf(context.Background(), r.Authority, r.LocalID)
		if err != nil {
			continue
		}
		ks, err := c.index.Records(context.Background(), id)
		if err == nil && len(ks) == 2 {
			return id.String()
		}
	}
	t.Fatal("no identity with two records in the generated population")
	return ""
}

// liveID is the identity an id leads to now (itself, or its survivor).
func liveID(t testing.TB, c *console, id string) string {
	t.Helper()
	pid, err := vigie.ParseIdentityID(id)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := c.index.Get(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	return ident.ID.String()
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// precision is the number of decimals the page shows for each dose field,
// as the regional synthesis prints them.
var precision = map[string]int{"dapTotalCgyCm2": 2, "airKermaTotalMgy": 2, "fluoroTimeMin": 1, "dlpTotalMgyCm": 1, "ctdivolMgy": 2,
	"ctdivolTotalMgy": 2, "ctCtdivolTotalMgy": 2, "activityMbq": 0, "agdTotalMgy": 2, "agdRightMgy": 2, "agdLeftMgy": 2}

// checkDoseHistory opens the test patient's dose history and checks every
// figure shown against the API's.
func checkDoseHistory(t *testing.T, c *console, tab context.Context, dir string) {
	res, err := c.dose("clinician").GetDoseHistory(context.Background(), connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: c.patient}))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.Marshal(res.Msg.GetHistory())
	if err != nil {
		t.Fatal(err)
	}
	var api map[string]any
	if err := json.Unmarshal(raw, &api); err != nil {
		t.Fatal(err)
	}
	run(t, tab, "dose history",
		chromedp.Navigate(c.url+"/#/dose/"+c.patient),
		waitJS(`document.getElementById('dose-history') && document.getElementById('dose-chart')`))
	var cells []struct{ Section, Exam, Field, Text string }
	var warnings []string
	var cumulative string
	run(t, tab, "dose cells",
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#dose-history td[data-field]')).map(td => ({
			Section: td.closest('section').dataset.section, Exam: td.closest('tr').dataset.exam, Field: td.dataset.field, Text: td.textContent}))`, &cells),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#dose-history .warning')).map(e => e.textContent)`, &warnings),
		chromedp.Evaluate(`document.getElementById('dose-chart').dataset.cumulativeDlp`, &cumulative))
	want := 0
	sum := 0.0
	for _, sec := range []string{"radiology", "ct", "nuclearMedicine", "mammography"} {
		rows, _ := api[sec].([]any)
		for _, row := range rows {
			m := row.(map[string]any)
			for _, cell := range cells {
				if cell.Section != sec || cell.Exam != m["examId"] {
					continue
				}
				want++
				v, ok := m[cell.Field]
				if (sec == "ct" || sec == "nuclearMedicine") && cell.Field == "dlpTotalMgyCm" && ok {
					sum += v.(float64)
				}
				digits, numeric := precision[cell.Field]
				switch {
				case !ok && cell.Text != "":
					t.Errorf("%s exam %s %s: page shows %q, the API has no value", sec, cell.Exam, cell.Field, cell.Text)
				case ok && numeric:
					got, err := strconv.ParseFloat(strings.NewReplacer("\u202f", "", "\u00a0", "", " ", "", ",", ".").Replace(cell.Text), 64)
					exp := math.Round(v.(float64)*math.Pow10(digits)) / math.Pow10(digits)
					if err != nil || math.Abs(got-exp) > 1e-9 {
						t.Errorf("%s exam %s %s: page shows %q, the API %v", sec, cell.Exam, cell.Field, cell.Text, v)
					}
				case ok && !numeric && cell.Text != v:
					t.Errorf("%s exam %s %s: page shows %q, the API %q", sec, cell.Exam, cell.Field, cell.Text, v)
				}
			}
		}
	}
	if want != len(cells) || want < 6 {
		t.Errorf("%d dose cells on the page match API rows, of %d shown (want all, and at least 6)", want, len(cells))
	}
	if got, _ := strconv.ParseFloat(cumulative, 64); math.Abs(got-math.Round(sum*10)/10) > 1e-9 {
		t.Errorf("chart's cumulative DLP %s, the API's rows sum to %.1f", cumulative, sum)
	}
	apiWarnings, _ := api["warnings"].([]any)
	if len(warnings) != len(apiWarnings) || len(warnings) == 0 || !strings.HasSuffix(warnings[0], apiWarnings[0].(string)) {
		t.Errorf("page warnings %q, API %q", warnings, apiWarnings)
	}
	checkSynthesis(t, tab, res.Msg.GetHistory())
	screenshot(t, tab, dir, "dose")
	run(t, tab, "print media", emulation.SetEmulatedMedia().WithMedia("print"))
	var navShown bool
	run(t, tab, "print layout", chromedp.Evaluate(`getComputedStyle(document.querySelector('header.top')).display !== 'none'`, &navShown))
	if navShown {
		t.Error("the print stylesheet keeps the page header")
	}
	var running []string
	run(t, tab, "print running header", chromedp.Evaluate(`Array.from(document.querySelectorAll('#dose-history > thead .running')).filter(e => e.offsetParent !== null).map(e => e.textContent)`, &running))
	if p := res.Msg.GetHistory().GetPatient(); len(running) != 1 || !strings.Contains(running[0], p.GetFirstNames()) || !strings.Contains(running[0], frDate(p.GetBirthDate())) {
		t.Errorf("printed sheets' running header %q, want the patient's identity (repeated on every sheet as the table header)", running)
	}
	screenshot(t, tab, dir, "dose-impression")
	run(t, tab, "screen media", emulation.SetEmulatedMedia().WithMedia(""))
}

// TestConsoleCareRelationship (issue 30): a clinician of one site opening
// a patient known only at other sites sees neither the patient's data nor
// an internal code, but the two ways in, in French: the code the patient
// gave, or an emergency access with its reason. Each opens the patient;
// the emergency access is listed for identity vigilance.
func TestConsoleCareRelationship(t *testing.T) {
	chromium(t)
	c := newConsole(t, 300, 5)
	b := newBrowser(t)
	ctx := context.Background()
	var target string
	var golden string
	for _, recs := range c.people {
		elsewhere := true
		for _, r := range recs {
			elsewhere = elsewhere && r.Authority != c.site
		}
		if !elsewhere {
			continue
		}
		id, err := c.index.IdentityOf(ctx, recs[0].Authority, recs[0].LocalID)
		if err != nil {
			continue
		}
		ident, err := c.index.Get(ctx, id)
		if err != nil || slices.ContainsFunc(ident.Members, func(m vigie.SourceKey) bool { return m.Authority == c.site }) {
			continue
		}
		if strings.TrimSpace(ident.Golden.BirthName) == "" {
			continue
		}
		// The page shows the golden record's name, which may be another
		// record's spelling (a slip in one site's copy): compare with it.
		target, golden = id.String(), ident.Golden.BirthName
		break
	}
	if target == "" {
		t.Fatal("fixture: no patient unknown at the clinician's site")
	}
	// The golden record may show another record's spelling of the name
	// (a space for a hyphen): names are compared as words.
	// Hyphens and apostrophes are spaces, runs of white space (a stored
	// trailing space, the page's tabs) one; padded, so that a name is
	// found as whole words.
	spaces := strings.NewReplacer("-", " ", "'", " ")
	words := func(s string) string {
		return " " + strings.Join(strings.Fields(spaces.Replace(strings.ToUpper(s))), " ") + " "
	}
	name := words(golden)
	refused := func(t *testing.T, tab context.Context) {
		t.Helper()
		var text string
		run(t, tab, "open the patient without a basis",
			chromedp.Navigate(c.url+"/#/identite/"+target), waitJS(`document.getElementById('basis') && document.body.dataset.ready`),
			chromedp.Evaluate(`document.getElementById('page').innerText + ' ' + document.getElementById('alert').innerText`, &text))
		if strings.Contains(words(text), name) || strings.Contains(text, "access_basis") || strings.Contains(text, "permission_denied") ||
			!strings.Contains(text, "Code patient") || !strings.Contains(text, "bris de glace") {
			t.Errorf("without a basis the page shows %q", text)
		}
	}
	opened := func(t *testing.T, tab context.Context, what string) {
		t.Helper()
		var golden string
		run(t, tab, what, waitJS(`document.getElementById('golden') && document.body.dataset.ready`),
			chromedp.Evaluate(`document.getElementById('golden').innerText`, &golden))
		if !strings.Contains(words(golden), name) {
			t.Errorf("%s: the patient's page shows %q, want %s", what, golden, name)
		}
	}

	t.Run("break the glass", func(t *testing.T) {
		tab := b.tab(t)
		signIn(t, tab, c.url, c.tokens["clinician-site"])
		refused(t, tab)
		// A reason too short is refused in the page, nothing is called.
		var stillForm bool
		run(t, tab, "short reason",
			chromedp.SendKeys("#basis-reason", "urgence", chromedp.ByQuery), chromedp.Click("#basis-glass-submit", chromedp.ByQuery),
			chromedp.Evaluate(`!!document.getElementById('basis') && !document.getElementById('golden')`, &stillForm))
		if !stillForm {
			t.Error("a seven-letter reason opened the patient")
		}
		run(t, tab, "state the reason",
			chromedp.SendKeys("#basis-reason", " : patient inconscient, aucun proche joignable", chromedp.ByQuery),
			chromedp.Click("#basis-glass-submit", chromedp.ByQuery))
		opened(t, tab, "after breaking the glass")
		access := vigiev1connect.NewAccessServiceClient(c.client, c.url, connect.WithInterceptors(bearer(c.tokens["vigilance"])))
		l, err := access.ListBreakGlass(ctx, connect.NewRequest(&v1.ListBreakGlassRequest{Since: timestamppb.New(time.Now().Add(-time.Hour))}))
		if err != nil {
			t.Fatal(err)
		}
		if a := l.Msg.GetAccesses(); len(a) != 1 || a[0].GetIdentityId() != target || a[0].GetPrincipal() != "web-test-clinician-site" ||
			!strings.HasPrefix(a[0].GetReason(), "urgence : patient inconscient") {
			t.Errorf("break-the-glass list: %v", a)
		}
		b.checkErrors(t)
	})

	t.Run("patient code", func(t *testing.T) {
		access := vigiev1connect.NewAccessServiceClient(c.client, c.url, connect.WithInterceptors(bearer(c.tokens["vigilance"])))
		code, err := access.CreateAccessCode(ctx, connect.NewRequest(&v1.CreateAccessCodeRequest{IdentityId: target}))
		if err != nil {
			t.Fatal(err)
		}
		tab := b.tab(t)
		signIn(t, tab, c.url, c.tokens["clinician-site"])
		refused(t, tab)
		var text string
		run(t, tab, "a wrong code",
			chromedp.SendKeys("#basis-code", "AAAA-BBBB-CCCC", chromedp.ByQuery), chromedp.Click("#basis-code-submit", chromedp.ByQuery),
			waitJS(`document.getElementById('basis-refused') && document.body.dataset.ready`),
			chromedp.Evaluate(`document.getElementById('page').innerText`, &text))
		if strings.Contains(strings.ToUpper(text), name) || strings.Contains(text, "access_code") {
			t.Errorf("after a wrong code the page shows %q", text)
		}
		run(t, tab, "the patient's code",
			chromedp.SendKeys("#basis-code", strings.ToLower(code.Msg.GetCode()), chromedp.ByQuery), chromedp.Click("#basis-code-submit", chromedp.ByQuery))
		opened(t, tab, "after the code")
		b.checkErrors(t)
	})
}

func frDate(iso string) string {
	if len(iso) != 10 {
		return iso
	}
	return iso[8:10] + "/" + iso[5:7] + "/" + iso[:4]
}

// checkSynthesis checks the page reads as the regional synthesis: the
// warning first, then the patient block, the four sections in order with
// their cumulative figures, establishments by name, no OID anywhere.
func checkSynthesis(t *testing.T, tab context.Context, hist *v1.DoseHistory) {
	t.Helper()
	var page struct {
		Order    []string
		Patient  map[string]string
		Sections []string
		Totals   map[string]string
		Sites    []string
		Text     string
	}
	run(t, tab, "synthesis layout", chromedp.Evaluate(`(() => {
		const root = document.querySelector('#dose-history > tbody');
		const order = Array.from(root.querySelectorAll('#dose-warning, #dose-patient, section[data-section]')).map(e => e.id || e.dataset.section);
		const patient = {};
		root.querySelectorAll('#dose-patient dd').forEach(dd => patient[dd.dataset.field] = dd.textContent);
		const totals = {};
		root.querySelectorAll('dd[data-total]').forEach(dd => totals[dd.closest('section').dataset.section + '.' + dd.dataset.total + (dd.dataset.isotope ? '.' + dd.dataset.isotope : '')] = dd.textContent);
		return {Order: order, Patient: patient, Sections: Array.from(root.querySelectorAll('section h2')).map(e => e.textContent),
			Totals: totals, Sites: Array.from(root.querySelectorAll('td[data-field=site]')).map(e => e.textContent), Text: document.body.innerText};
	})()`, &page))
	wantOrder := []string{"dose-warning", "dose-patient", "radiology", "ct", "nuclearMedicine", "mammography"}
	if strings.Join(page.Order, ",") != strings.Join(wantOrder, ",") {
		t.Errorf("page order %v, want %v", page.Order, wantOrder)
	}
	wantSections := []string{"Examens de radiologie conventionnelle et interventionnelle", "Examens de scanographie", "Examens de médecine nucléaire", "Examens de mammographie"}
	if strings.Join(page.Sections, "|") != strings.Join(wantSections, "|") {
		t.Errorf("sections %q, want %q", page.Sections, wantSections)
	}
	p := hist.GetPatient()
	if page.Patient["firstNames"] != p.GetFirstNames() || page.Patient["birthDate"] != frDate(p.GetBirthDate()) || page.Patient["sex"] == "" ||
		!strings.Contains(page.Patient["name"], p.GetBirthName()) {
		t.Errorf("patient block %v, API %v", page.Patient, p)
	}
	tot := hist.GetTotals()
	fr := func(v float64, digits int) string {
		return strings.Replace(strconv.FormatFloat(v, 'f', digits, 64), ".", ",", 1)
	}
	num := func(s string) string { return strings.NewReplacer("\u202f", "", "\u00a0", "", " ", "").Replace(s) }
	for k, want := range map[string]string{
		"radiology.dapTotalCgyCm2": fr(tot.GetDapTotalCgyCm2(), 2), "ct.dlpTotalMgyCm": fr(tot.GetDlpTotalMgyCm(), 1),
		"ct.ctdivolTotalMgy": fr(tot.GetCtdivolTotalMgy(), 2), "mammography.agdTotalMgy": fr(tot.GetAgdTotalMgy(), 2),
		"nuclearMedicine.nmActivities.FDG / F 18": fr(tot.GetNmActivities()[0].GetActivityMbq(), 0),
	} {
		if got, ok := page.Totals[k]; !ok || num(got) != want {
			t.Errorf("section figure %s: page %q, API %s (all: %v)", k, got, want, page.Totals)
		}
	}
	// The nuclear-medicine estimate (published coefficient × activity) is
	// shown as the API gives it.
	for _, r := range hist.GetNuclearMedicine() {
		if e := r.GetEffectiveDoseEstimate(); e == "" || !strings.Contains(page.Text, e) {
			t.Errorf("nuclear-medicine row %s: estimate %q not shown", r.GetExamId(), e)
		}
	}
	named := 0
	for _, s := range page.Sites {
		switch s {
		case "CHU de Bordeaux — Pellegrin":
			named++
		case "Établissement non référencé":
		default:
			t.Errorf("establishment shown as %q, want its name or \"Établissement non référencé\"", s)
		}
	}
	if named == 0 {
		t.Error("no establishment shown by its registered name")
	}
	for _, bad := range []string{"1.2.250.", "F^18^", "^18^"} {
		if strings.Contains(page.Text, bad) {
			t.Errorf("the page shows %q (an OID or raw DICOM markup)", bad)
		}
	}
}

// oidText is an OID as it would leak into the console's text.
var oidText = regexp.MustCompile(`\b[0-2](\.\d+){4,}\b`)

// checkFrench fails when text shown in the console holds an OID where a
// site name is expected, or the index's own English words (its actor
// "system", its reasons "automatic link…", a rule code).
func checkFrench(t *testing.T, what, text string) {
	t.Helper()
	if m := oidText.FindString(text); m != "" {
		t.Errorf("%s shows the OID %s:\n%s", what, m, text)
	}
	for _, w := range []string{"par system", "automatic link", "Règle no_", "Règle first_", "Règle twins", "Règle possible_"} {
		if strings.Contains(text, w) {
			t.Errorf("%s shows %q:\n%s", what, w, text)
		}
	}
}
