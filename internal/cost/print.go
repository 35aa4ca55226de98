package cost

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Print writes the report as tables: per component, then per item, the
// assumptions and what is not priced.
func (r *Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Monthly estimate for %s (USD, on-demand list prices, %d hours)\n\n", r.Region, HoursPerMonth)
	fmt.Fprintln(tw, "COMPONENT\tUSD/MONTH\t")
	for _, c := range r.Components {
		fmt.Fprintf(tw, "%s\t%9.2f\t\n", c.Component, c.MonthlyUSD)
	}
	fmt.Fprintf(tw, "total\t%9.2f\t\n\n", r.TotalUSD)
	fmt.Fprintln(tw, "COMPONENT\tITEM\tQUANTITY\tUNIT\tUSD/UNIT\tUSD/MONTH\t")
	for _, l := range r.Lines {
		mark := ""
		if l.Unchecked {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%8.1f\t%s\t%8.4f%s\t%9.2f\t\n", l.Component, l.Item, l.Quantity, l.Unit, l.UnitUSD, mark, l.MonthlyUSD)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nPrices: %s\nAssumed:\n", r.Prices)
	for _, a := range r.Assumptions {
		fmt.Fprintf(w, "  - %s\n", a)
	}
	if len(r.Unpriced) > 0 {
		fmt.Fprintln(w, "Not in the total:")
		for _, u := range r.Unpriced {
			fmt.Fprintf(w, "  - %s\n", u)
		}
	}
	return nil
}
