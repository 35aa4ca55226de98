package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// prices.json holds list prices per region, each with its source and the
// date it was read: update it by hand, in one commit per refresh.
//
//go:embed prices.json
var pricesJSON []byte

// Price is one list price.
type Price struct {
	USD      float64 `json:"usd"`
	Unit     string  `json:"unit"`
	Source   string  `json:"source"`
	Date     string  `json:"date"`
	Verified bool    `json:"verified"`
}

// Table is one region's prices.
type Table struct {
	Source string
	Prices map[string]Price
}

type priceFile struct {
	Regions map[string]map[string]Price `json:"regions"`
}

// TableFor is the price table of region.
func TableFor(region string) (*Table, error) {
	var f priceFile
	if err := json.Unmarshal(pricesJSON, &f); err != nil {
		return nil, fmt.Errorf("internal/cost/prices.json: %w", err)
	}
	prices, ok := f.Regions[region]
	if !ok {
		have := make([]string, 0, len(f.Regions))
		for r := range f.Regions {
			have = append(have, r)
		}
		sort.Strings(have)
		return nil, fmt.Errorf("no price table for region %s in internal/cost/prices.json (it has %s): add one, with each price's source and date", region, strings.Join(have, ", "))
	}
	unverified := 0
	for _, p := range prices {
		if !p.Verified {
			unverified++
		}
	}
	src := fmt.Sprintf("internal/cost/prices.json, %s: %d list prices in USD, each with its source and date", region, len(prices))
	if unverified > 0 {
		src += fmt.Sprintf("; %d not checked against a source (marked *)", unverified)
	}
	return &Table{Source: src, Prices: prices}, nil
}
