package web_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var (
	loadPersons  = flag.Int("console.persons", 20000, "generated persons behind BenchmarkConsoleFirstLoad")
	loadExams    = flag.Int("console.exams", 2000, "records of the busiest site given two exams each in BenchmarkConsoleFirstLoad")
	loadSlowdown = flag.Float64("console.cpu-slowdown", 1, "CPU throttling rate of the browser in BenchmarkConsoleFirstLoad (4 ≈ an old hospital PC)")
)

// BenchmarkConsoleFirstLoad measures each page's first load in headless
// Chromium over loopback against a server holding -console.persons
// generated persons: a fresh document for every load (the browser's cache
// revalidates the assets, as a returning user's would), timed by the page
// itself from navigation start until its data is on screen
// (ms/first-load), and the two interactive queries from click to results
// (ms/query). Run with:
//
//	go test ./web/ -run '^$' -bench ConsoleFirstLoad -benchtime 5x [-console.persons 20000] [-console.cpu-slowdown 4]
func BenchmarkConsoleFirstLoad(b *testing.B) {
	t0 := time.Now()
	c := newConsole(b, *loadPersons, *loadExams)
	b.Logf("server: %d persons, %d records, built in %s", *loadPersons, c.index.Count(), time.Since(t0).Round(time.Second))
	br := newBrowser(b)
	target, ident := c.searchTarget(b)

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
		{"identite", "clinician", "#/identite/" + ident},
		{"dose", "clinician", "#/dose/" + c.patient},
		{"revue", "vigilance", "#/revue"},
		{"analyse", "physicist", "#/analyse"},
	}
	for _, p := range pages {
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
			chromedp.SendKeys("#s-name", typo(target.BirthName), chromedp.ByQuery),
			chromedp.SendKeys("#s-first", strings.Fields(target.FirstNames)[0], chromedp.ByQuery),
			chromedp.SendKeys("#s-birth", target.BirthDate, chromedp.ByQuery))
		query(b, tab, "results", "s-go", ".result")
	})
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
