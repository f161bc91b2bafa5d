package views

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles is every style of the TUI. With colours off (NO_COLOR) the same
// roles are told apart by bold, reverse and underline only, so that the
// selection and errors stay visible on any terminal.
type Styles struct {
	Color bool

	Title       lipgloss.Style // pane titles
	Border      lipgloss.Style // a pane's frame
	BorderFocus lipgloss.Style // the focused pane's frame
	Selected    lipgloss.Style // the selected row
	Dim         lipgloss.Style // secondary text: read-only marks, units
	Key         lipgloss.Style // attribute names
	Value       lipgloss.Style // attribute values
	ReadOnly    lipgloss.Style // values that cannot be changed
	OK          lipgloss.Style // enabled, up, healthy
	Warn        lipgloss.Style // partly configured, near full
	Err         lipgloss.Style // errors, down, CHECK CONDITION
	Status      lipgloss.Style // the status line
	StatusErr   lipgloss.Style // the status line showing an error
	GaugeFull   lipgloss.Style // the used part of a gauge
	GaugeEmpty  lipgloss.Style // the free part of a gauge
	Spark       lipgloss.Style // sparklines and histogram bars
	Help        help.Styles
}

// NewStyles returns the styles, with or without colours.
func NewStyles(colored bool) *Styles {
	s := &Styles{Color: colored}
	plain := lipgloss.NewStyle()
	fg := func(c color.Color) lipgloss.Style {
		if !colored {
			return plain
		}
		return plain.Foreground(c)
	}
	var (
		accent = lipgloss.Color("#7D9BFF")
		green  = lipgloss.Color("#5FD787")
		yellow = lipgloss.Color("#FFD75F")
		red    = lipgloss.Color("#FF5F5F")
		grey   = lipgloss.Color("#8A8A8A")
	)
	s.Title = fg(accent).Bold(true)
	s.Border = plain.Border(lipgloss.RoundedBorder())
	s.BorderFocus = s.Border
	if colored {
		s.Border = s.Border.BorderForeground(grey)
		s.BorderFocus = s.BorderFocus.BorderForeground(accent)
	}
	s.Selected = plain.Reverse(true)
	s.Dim = fg(grey)
	s.Key = fg(accent)
	s.Value = plain
	s.ReadOnly = fg(grey).Italic(colored)
	s.OK = fg(green)
	s.Warn = fg(yellow).Bold(!colored)
	s.Err = fg(red).Bold(true)
	s.Status = fg(grey)
	s.StatusErr = fg(red).Bold(true)
	s.GaugeFull = fg(accent)
	s.GaugeEmpty = fg(grey)
	s.Spark = fg(green)
	if colored {
		s.Help = help.DefaultDarkStyles()
	} else {
		s.Help = help.Styles{
			Ellipsis:       plain,
			ShortKey:       plain.Bold(true),
			ShortDesc:      plain,
			ShortSeparator: plain,
			FullKey:        plain.Bold(true),
			FullDesc:       plain,
			FullSeparator:  plain,
		}
	}
	return s
}
