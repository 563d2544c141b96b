package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Counts returns how many checks passed, failed and did not apply.
func (r *Report) Counts() (pass, fail, na int) {
	for _, res := range r.Results {
		switch res.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			na++
		}
	}
	return pass, fail, na
}

func (r *Report) heading() string {
	s := "probe of " + r.Target
	if r.FXPTarget != "" {
		s += " (fxp to " + r.FXPTarget + ")"
	}
	return s
}

func (r *Report) footer() string {
	pass, fail, na := r.Counts()
	return fmt.Sprintf("%d PASS, %d FAIL, %d N/A in %v", pass, fail, na, r.Elapsed.Round(time.Millisecond))
}

// WriteText writes the report as an aligned table: one line per check
// with its verdict, what was checked and the evidence.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nserver: %s\n\n", r.heading(), firstLine(r.Greeting))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCHECK\tEVIDENCE")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res.Verdict, res.Check, oneLine(res.Evidence))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%s\n", r.footer())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as a Markdown table, for pasting into
// an issue or a README.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** — server: `%s`\n\n", mdCell(r.heading()), mdCell(firstLine(r.Greeting)))
	b.WriteString("| result | check | note | evidence |\n|---|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", res.Verdict, mdCell(res.Check), mdCell(res.Note), mdCell(res.Evidence))
	}
	fmt.Fprintf(&b, "\n%s\n", r.footer())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// oneLine folds multi-line reply texts into one table line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " / ") }

// mdCell escapes what would break a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " / ", "`", "'").Replace(s)
}
