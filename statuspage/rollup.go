package statuspage

// Status is the page's overall state: Statuspage's status.json {indicator, description}.
type Status struct {
	Indicator   Impact `json:"indicator"`
	Description string `json:"description"`
}

// The fixed top-level texts of Statuspage; clients key on them, so they are verbatim.
const (
	AllSystemsOperational    = "All Systems Operational"
	PartiallyDegradedService = "Partially Degraded Service"
	DegradedSystemService    = "Degraded System Service"
	MinorServiceOutage       = "Minor Service Outage"
	PartialSystemOutage      = "Partial System Outage"
	MajorSystemOutage        = "Major System Outage"
	ServiceUnderMaintenance  = "Service Under Maintenance"
)

// rollup computes the overall status as Statuspage does: from the components (one
// component: its own status; several: a blend), lifted to at least the impact of any open
// incident, and to maintenance when one is in progress and nothing is worse.
//
// Bounds kept (STATUSPAGE-V2.md): none only if every component is operational and no open
// incident has an impact; never worse than the worst component or open incident; never
// milder than an open incident's impact; every component in major outage is critical.
func (v *view) rollup() Status {
	st := componentsStatus(v.snap.Components)
	for _, inc := range v.unresolved() {
		if inc.Impact.rank() > st.Indicator.rank() {
			st = impactStatus(inc.Impact)
		}
	}
	if st.Indicator == ImpactNone && len(v.maintenancesWhere(MaintenanceStatus.active)) > 0 {
		st = Status{ImpactMaintenance, ServiceUnderMaintenance}
	}
	return st
}

// componentsStatus blends the components' statuses into one.
func componentsStatus(cs []Component) Status {
	if len(cs) == 1 {
		switch cs[0].Status {
		case UnderMaintenance:
			return Status{ImpactMaintenance, ServiceUnderMaintenance}
		case DegradedPerformance:
			return Status{ImpactMinor, PartiallyDegradedService}
		case PartialOutage:
			return Status{ImpactMajor, PartialSystemOutage}
		case MajorOutage:
			return Status{ImpactCritical, MajorSystemOutage}
		}
		return Status{ImpactNone, AllSystemsOperational}
	}
	count := map[ComponentStatus]int{}
	for _, c := range cs {
		count[c.Status]++
	}
	n := len(cs)
	switch {
	case n == 0:
		return Status{ImpactNone, AllSystemsOperational}
	case count[MajorOutage] == n:
		return Status{ImpactCritical, MajorSystemOutage}
	case count[MajorOutage] > 0 || count[PartialOutage] == n:
		return Status{ImpactMajor, PartialSystemOutage}
	case count[PartialOutage] > 0:
		return Status{ImpactMinor, MinorServiceOutage}
	case count[DegradedPerformance] == n:
		return Status{ImpactMinor, DegradedSystemService}
	case count[DegradedPerformance] > 0:
		return Status{ImpactMinor, PartiallyDegradedService}
	case count[UnderMaintenance] > 0:
		return Status{ImpactMaintenance, ServiceUnderMaintenance}
	}
	return Status{ImpactNone, AllSystemsOperational}
}

// impactStatus is the overall status an open incident of impact i implies.
func impactStatus(i Impact) Status {
	switch i {
	case ImpactMinor:
		return Status{ImpactMinor, MinorServiceOutage}
	case ImpactMajor:
		return Status{ImpactMajor, PartialSystemOutage}
	case ImpactCritical:
		return Status{ImpactCritical, MajorSystemOutage}
	case ImpactMaintenance:
		return Status{ImpactMaintenance, ServiceUnderMaintenance}
	}
	return Status{ImpactNone, AllSystemsOperational}
}
