package slack

import (
	"errors"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"firebreak/incidents"
	"firebreak/text"
)

// The declare modal: its callback id, and the block and action ids of its fields (the block
// ids are what a submission's errors are keyed by).
const (
	DeclareCallbackID = "firebreak_declare"
	BlockTitle        = "title"
	BlockSeverity     = "severity"
	BlockService      = "service"
	BlockEnvironment  = "environment"
	BlockSummary      = "summary"
	fieldAction       = "value"
	// maxModalSummary is what the form's summary field takes (Slack's plain-text input
	// holds at most 3000 characters).
	maxModalSummary = 3000
)

// declareModal is the form /incident declare opens: title, severity (preset when the command
// named one), service, environment and summary. privateMetadata carries the channel the
// command came from, to answer there.
func declareModal(channelID string, sev incidents.Severity) slackapi.ModalViewRequest {
	title := slackapi.NewPlainTextInputBlockElement(plain("What is broken, in a few words"), fieldAction)
	title.MaxLength = incidents.MaxTitle
	var options []*slackapi.OptionBlockObject
	for _, s := range []incidents.Severity{incidents.Sev1, incidents.Sev2, incidents.Sev3, incidents.Sev4} {
		options = append(options, slackapi.NewOptionBlockObject(string(s), plain(severityLabel(s)), nil))
	}
	severity := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, plain("Pick a severity"), fieldAction, options...)
	if sev == "" {
		sev = incidents.Sev3
	}
	for _, o := range options {
		if o.Value == string(sev) {
			severity.InitialOption = o
		}
	}
	service := slackapi.NewPlainTextInputBlockElement(plain("checkout"), fieldAction)
	service.MaxLength = incidents.MaxName
	env := slackapi.NewPlainTextInputBlockElement(plain("production"), fieldAction)
	env.MaxLength = incidents.MaxName
	summary := slackapi.NewPlainTextInputBlockElement(plain("What people see, what is known so far"), fieldAction)
	summary.Multiline, summary.MaxLength = true, maxModalSummary

	serviceBlock := slackapi.NewInputBlock(BlockService, plain("Service"), nil, service)
	serviceBlock.Optional = true
	envBlock := slackapi.NewInputBlock(BlockEnvironment, plain("Environment"), nil, env)
	envBlock.Optional = true
	summaryBlock := slackapi.NewInputBlock(BlockSummary, plain("Summary"), nil, summary)
	summaryBlock.Optional = true
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      DeclareCallbackID,
		Title:           plain("Declare an incident"),
		Submit:          plain("Declare"),
		Close:           plain("Cancel"),
		PrivateMetadata: channelID,
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			slackapi.NewInputBlock(BlockTitle, plain("Title"), nil, title),
			slackapi.NewInputBlock(BlockSeverity, plain("Severity"), plain("sev1 is the most severe"), severity),
			serviceBlock, envBlock, summaryBlock,
		}},
	}
}

func severityLabel(s incidents.Severity) string {
	switch s {
	case incidents.Sev1:
		return "sev1: critical, customers cannot use it"
	case incidents.Sev2:
		return "sev2: major, a feature is down"
	case incidents.Sev3:
		return "sev3: minor, degraded"
	}
	return "sev4: low, no customer impact"
}

// declareForm reads a submitted declare modal. Missing or invalid fields come back as
// errors keyed by block id, each saying what to write, as Slack shows them under the fields.
func declareForm(view slackapi.View) (incidents.DeclareInput, map[string]string) {
	value := func(block string) string {
		if view.State == nil {
			return ""
		}
		a := view.State.Values[block][fieldAction]
		if a.SelectedOption.Value != "" {
			return a.SelectedOption.Value
		}
		return strings.TrimSpace(text.Clean(a.Value))
	}
	in := incidents.DeclareInput{Title: value(BlockTitle), Severity: value(BlockSeverity), Service: value(BlockService),
		Environment: value(BlockEnvironment), Summary: value(BlockSummary)}
	problems := map[string]string{}
	if err := text.Check("title", in.Title, incidents.MaxTitle, true); err != nil {
		problems[BlockTitle] = "Give the incident a title of at most " + fmt.Sprint(incidents.MaxTitle) + " characters: what is broken, in a few words."
	}
	if _, err := incidents.ParseSeverity(in.Severity); err != nil {
		problems[BlockSeverity] = "Pick a severity, sev1 (most severe) to sev4."
	}
	for block, max := range map[string]int{BlockService: incidents.MaxName, BlockEnvironment: incidents.MaxName, BlockSummary: incidents.MaxSummary} {
		if err := text.Check(block, value(block), max, false); err != nil {
			problems[block] = fmt.Sprintf("At most %d characters.", max)
		}
	}
	if len(problems) > 0 {
		return in, problems
	}
	return in, nil
}

// formProblem places an error Declare returned under the field it is about.
func formProblem(err error) map[string]string {
	msg := err.Error()
	for _, block := range []string{BlockTitle, BlockSeverity, BlockService, BlockEnvironment, BlockSummary} {
		if strings.Contains(msg, block) {
			return map[string]string{block: text.Cut(strings.TrimPrefix(msg, incidents.ErrInvalid.Error()+": "), 150)}
		}
	}
	if errors.Is(err, incidents.ErrInvalid) {
		return map[string]string{BlockTitle: text.Cut(msg, 150)}
	}
	return nil
}
