package web_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

var (
	loadPersons  = flag.Int("console.persons", 20000, "generated persons behind BenchmarkConsoleFirstLoad")
	loadExams    = flag.Int("console.exams", 2000, "records of the busiest site given two exams each in BenchmarkConsoleFirstLoad")
	loadSlowdown = flag.Float64("console.cpu-slowdown", 1, "CPU throttling rate of the browser in BenchmarkConsoleFirstLoad (4 ≈ an old hospital PC)")
	// A running server instead of a generated one (for a store too big to
	// build in a benchmark): its URL, API keys and the patients to open.
	loadURL      = flag.String("console.url", "", "measure against this running vigie serve (console mounted at /) instead of a generated server")
	loadTokens   = flag.String("console.tokens", "", "with -console.url: clinician=SECRET,vigilance=SECRET,physicist=SECRET")
	loadIdentity = flag.String("console.identity", "", "with -console.url: identity id to open, search (with a typo) and read the dose history of")
	loadSite     = flag.String("console.site", "", "with -console.url: assigning authority of the physicist's NRD evaluation")
)

// loadTarget is what the benchmark opens: a server, its keys by role, an
// identity to search for and open, a patient with a dose history, a site.
type loadTarget struct {
	url                    string
	tokens                 map[string]string
	identity, patient      string
	name, first, birthDate string
	site                   string
}

func newLoadTarget(b *testing.B) loadTarget {
	if *loadURL == "" {
		t0 := time.Now()
		c := newConsole(b, *loadPersons, *loadExams)
		b.Logf("server: %d persons, %d records, built in %s", *loadPersons, c.index.Count(), time.Since(t0).Round(time.Second))
		r, ident := c.searchTarget(b)
		return loadTarget{url: c.url, tokens: c.tokens, identity: ident, patient: c.patient, name: r.BirthName,
			first: strings.Fields(r.FirstNames)[0], birthDate: r.BirthDate, site: c.site}
	}
	lt := loadTarget{url: strings.TrimSuffix(*loadURL, "/"), tokens: map[string]string{}, identity: *loadIdentity, patient: *loadIdentity, site: *loadSite}
	for _, kv := range strings.Split(*loadTokens, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			lt.tokens[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if lt.tokens["clinician"] == "" || lt.identity == "" {
		b.Fatal("-console.url needs -console.tokens with at least clinician=…, and -console.identity")
	}
	cl := vigiev1connect.NewIdentityServiceClient(http.DefaultClient, lt.url, connect.WithInterceptors(bearer(lt.tokens["clinician"])))
	res, err := cl.GetIdentity(context.Background(), connect.NewRequest(&v1.GetIdentityRequest{IdentityId: lt.identity}))
	if err != nil {
		b.Fatal(err)
	}
	g := res.Msg.GetIdentity().GetGolden()
	lt.name, lt.birthDate = g.GetBirthName(), g.GetBirthDate()
	if f := strings.Fields(g.GetFirstNames()); len(f) > 0 {
		lt.first = f[0]
	}
	return lt
}

// BenchmarkConsoleFirstLoad measures each page's first load in headless
// Chromium over loopback against a server holding -console.persons
// generated persons: a fresh document for every load (the assets come from
// the browser's cache, as a returning user's would), timed by the page
// itself from navigation start until its data is on screen
// (ms/first-load), and the two interactive queries from click to results
// (ms/query). Run with:
//
//	go test ./web/ -run '^$' -bench ConsoleFirstLoad -benchtime 5x [-console.persons 20000] [-console.cpu-slowdown 4]
//
// or, against a running server over a bigger store, with -console.url,
// -console.tokens, -console.identity and -console.site.
func BenchmarkConsoleFirstLoad(b *testing.B) {
	c := newLoadTarget(b)
	br := newBrowser(b)

	tabFor := func(b *testing.B, role string) context.Context {
		tab := br.tab(b)
		if *loadSlowdown > 1 {
			run(b, tab, "throttle", emulation.SetCPUThrottlingRate(*loadSlowdown))
		}
		if role != "" {
			signIn(b, tab, c.url, c.tokens[role])
		}
		return tab
	}
	pages := []struct{ name, role, hash string }{
		{"connexion", "", "#/connexion"},
		{"recherche", "clinician", "#/recherche"},
		{"identite", "clinician", "#/identite/" + c.identity},
		{"dose", "clinician", "#/dose/" + c.patient},
		{"revue", "vigilance", "#/revue"},
		{"analyse", "physicist", "#/analyse"},
	}
	for _, p := range pages {
		if p.role != "" && c.tokens[p.role] == "" {
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			tab := tabFor(b, p.role)
			var total, worst, doms float64
			b.ResetTimer()
			for range b.N {
				ms, dom := firstLoad(b, tab, c.url, p.hash)
				total += ms
				doms += dom
				worst = max(worst, ms)
			}
			b.ReportMetric(total/float64(b.N), "ms/first-load")
			b.ReportMetric(worst, "ms/worst-load")
			b.ReportMetric(doms/float64(b.N), "ms/dom-ready")
		})
	}
	b.Run("recherche-query", func(b *testing.B) {
		tab := tabFor(b, "clinician")
		run(b, tab, "search page", chromedp.Navigate(c.url+"/#/recherche"), waitJS(`document.body.dataset.ready`),
			chromedp.SendKeys("#s-name", typo(c.name), chromedp.ByQuery),
			chromedp.SendKeys("#s-first", c.first, chromedp.ByQuery),
			chromedp.SendKeys("#s-birth", c.birthDate, chromedp.ByQuery))
		query(b, tab, "results", "s-go", ".result")
	})
	apiCalls(b, c)
	if c.tokens["physicist"] == "" || c.site == "" {
		return
	}
	b.Run("analyse-nrd", func(b *testing.B) {
		tab := tabFor(b, "physicist")
		run(b, tab, "analytics page", chromedp.Navigate(c.url+"/#/analyse"), waitJS(`document.body.dataset.ready`),
			chromedp.SetValue("#n-site", c.site, chromedp.ByQuery), chromedp.SetValue("#n-since", "2022-01-01", chromedp.ByQuery),
			chromedp.SetValue("#n-until", "2024-12-31", chromedp.ByQuery))
		query(b, tab, "nrd", "n-go", "#nrd-table")
	})
}

// firstLoad loads url in a fresh document and returns the page's own
// figure: milliseconds from navigation start until its data is shown.
func firstLoad(b *testing.B, tab context.Context, base, hash string) (ms, dom float64) {
	run(b, tab, "load "+hash,
		// A same-origin page in between, so that the load starts a new
		// document without the cost of a new renderer process.
		chromedp.Navigate(base+"/console/none"),
		chromedp.Navigate(base+"/"+hash), waitJS(`document.body.dataset.ready`),
		chromedp.Evaluate(`+document.body.dataset.ready`, &ms),
		chromedp.Evaluate(`performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd`, &dom))
	return ms, dom
}

// query clicks a button b.N times and reports the time until the element
// sel appears in the output container out (cleared before each click),
// observed in the page.
func query(b *testing.B, tab context.Context, out, button, sel string) {
	js := fmt.Sprintf(`new Promise(res => {
		const out = document.getElementById(%q); out.textContent = '';
		const t0 = performance.now();
		const o = new MutationObserver(() => { if (out.querySelector(%q)) { o.disconnect(); res(performance.now() - t0); } });
		o.observe(out, {childList: true, subtree: true});
		document.getElementById(%q).click();
	})`, out, sel, button)
	var total, worst float64
	b.ResetTimer()
	for range b.N {
		var ms float64
		run(b, tab, "query", chromedp.Evaluate(js, &ms, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		total += ms
		worst = max(worst, ms)
	}
	b.ReportMetric(total/float64(b.N), "ms/query")
	b.ReportMetric(worst, "ms/worst-query")
}

// apiCalls times the calls behind each page from Go, with the JSON codec
// the browser uses, to tell the server's share of a page's load from the
// browser's.
func apiCalls(b *testing.B, c loadTarget) {
	ctx := context.Background()
	client := func(role string) []connect.ClientOption {
		return []connect.ClientOption{connect.WithProtoJSON(), connect.WithInterceptors(bearer(c.tokens[role]))}
	}
	id := func(role string) vigiev1connect.IdentityServiceClient {
		return vigiev1connect.NewIdentityServiceClient(http.DefaultClient, c.url, client(role)...)
	}
	dose := func(role string) vigiev1connect.DoseServiceClient {
		return vigiev1connect.NewDoseServiceClient(http.DefaultClient, c.url, client(role)...)
	}
	calls := []struct {
		name, role string
		call       func() error
	}{
		{"SearchIdentities", "clinician", func() error {
			_, err := id("clinician").SearchIdentities(ctx, connect.NewRequest(&v1.SearchIdentitiesRequest{Limit: 20,
				Traits: &v1.SearchTraits{Name: typo(c.name), FirstNames: c.first, BirthDate: c.birthDate}}))
			return err
		}},
		{"GetIdentity", "clinician", func() error {
			_, err := id("clinician").GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: c.identity}))
			return err
		}},
		{"GetDoseHistory", "clinician", func() error {
			_, err := dose("clinician").GetDoseHistory(ctx, connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: c.patient}))
			return err
		}},
		{"ListReviews", "vigilance", func() error {
			_, err := id("vigilance").ListReviews(ctx, connect.NewRequest(&v1.ListReviewsRequest{PageSize: 10}))
			return err
		}},
		{"ListAlerts", "physicist", func() error {
			_, err := dose("physicist").ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{PageSize: 200}))
			return err
		}},
		{"EvaluateNrd", "physicist", func() error {
			if c.site == "" {
				return nil
			}
			_, err := dose("physicist").EvaluateNrd(ctx, connect.NewRequest(&v1.EvaluateNrdRequest{Site: c.site, Since: "2022-01-01", Until: "2024-12-31"}))
			return err
		}},
	}
	for _, k := range calls {
		if c.tokens[k.role] == "" {
			continue
		}
		b.Run("api-"+k.name, func(b *testing.B) {
			t0 := time.Now()
			for range b.N {
				if err := k.call(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/float64(b.N), "ms/call")
		})
	}
}
