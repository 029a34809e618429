/**
 * Human names for the attributes, for plot titles, axis labels and report headings. Drawn from
 * the column reference (shared/data/README.md, upstream dati-andamento-covid19-italia.md), and
 * explicit about what people misread most: whether a number is a CURRENT stock (people in
 * intensive care today), a CUMULATIVE total since February 2020, a DAILY count, a day-on-day
 * CHANGE of a stock (which can be negative), or a share.
 */
import type { Attribute } from "./preprocess.ts";

/** How a column's values read: a title, the y axis label (with its unit) and whether it is a share. */
export interface AttributeLabel {
  readonly title: string;
  readonly axis: string;
  /** A share in [0, 1]: axes show percent. */
  readonly isShare?: boolean;
}

const current = (what: string): AttributeLabel => ({ title: `${what} (current)`, axis: "people, on the day" });
const cumulative = (what: string, unit = "people"): AttributeLabel => ({ title: `${what} (cumulative since 2020-02-24)`, axis: `${unit}, running total` });
const daily = (what: string, unit = "people"): AttributeLabel => ({ title: `${what} (daily)`, axis: `${unit} per day` });

/** One label per attribute; `satisfies` makes the compiler insist every attribute has one. */
export const LABELS = {
  hospitalized_with_symptoms: current("People in hospital with symptoms, outside intensive care"),
  intensive_care: current("People in intensive care"),
  total_hospitalized: current("People in hospital"),
  home_confinement: current("Positive people isolated at home"),
  total_positive: current("Currently positive people"),
  total_positive_change: { title: "Change in currently positive people (day on day; can be negative)", axis: "people, change from the day before" },
  new_positives: daily("New positive cases", "cases"),
  recovered: cumulative("Recovered or discharged"),
  death: cumulative("Deaths"),
  total_cases: cumulative("Positive cases", "cases"),
  performed_tests: cumulative("Tests (swabs) performed", "tests"),
  total_people_tested: cumulative("People tested"),
  new_entries_intensive_care: daily("New admissions to intensive care", "admissions"),
  total_positives_molecular_test: cumulative("Positive cases by molecular (PCR) test", "cases"),
  total_positives_antigenic_test_rapid: cumulative("Positive cases by rapid antigen test", "cases"),
  swabs_test_molecular: cumulative("Molecular (PCR) swabs", "swabs"),
  swabs_test_antigenic_rapid: cumulative("Rapid antigen swabs", "swabs"),
  daily_death: daily("Deaths", "deaths"),
  daily_performed_tests: daily("Tests (swabs) performed", "tests"),
  daily_recovered: daily("Recovered or discharged"),
  intensive_care_change: { title: "Change in intensive-care occupancy (day on day; not admissions)", axis: "people, change from the day before" },
  ratio_molecular: { title: "Share of all molecular swabs since 2020 that were positive (cumulative)", axis: "positive share of all swabs so far", isShare: true },
  ratio_antigenic: { title: "Share of all rapid antigen swabs since 2020 that were positive (cumulative)", axis: "positive share of all swabs so far", isShare: true },
  daily_positivity: { title: "Daily test positivity: share of the day's tests that were positive", axis: "positive share of the day's tests", isShare: true },
  daily_positivity_molecular: { title: "Daily molecular (PCR) test positivity", axis: "positive share of the day's PCR tests", isShare: true },
  daily_positivity_antigenic: { title: "Daily rapid antigen test positivity", axis: "positive share of the day's antigen tests", isShare: true },
} as const satisfies Record<Attribute, AttributeLabel>;

/** The label of a column; an unknown name labels itself (plots of ad-hoc columns still render). */
export function labelOf(attribute: string): AttributeLabel {
  return (LABELS as Record<string, AttributeLabel>)[attribute] ?? { title: attribute, axis: attribute };
}
