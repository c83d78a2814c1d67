package main

import (
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
)

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Print writes the summary table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s\n", r.Machine, r.CPUs, r.GoVersion)
	fmt.Fprintln(w, "CPU and RSS: in-process, the whole load tool (bot, simulated citizens, fake Bot API); process or replicas, the bot processes alone (CPU summed, RSS the largest)")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tbot\tdatabase\tmode\tusers\tthink ms\tapi delay ms\tupdates\tseconds\tupdates/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\terrors\tCPU ms/update\tpeak RSS MB\t")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.0f\t%.0f\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t%.3f\t%.1f\t\n",
			p.Name, p.Bot, p.Database, p.Mode, p.Users, p.ThinkMs, p.APIDelayMs, p.Updates, p.Seconds, p.UpdatesPerSec,
			p.P50Ms, p.P95Ms, p.P99Ms, p.MaxMs, p.Errors, p.CPUPerUpdateMs, p.PeakRSSMB)
	}
	tw.Flush()
	for _, p := range r.Phases {
		for i, rf := range p.Replicas {
			fmt.Fprintf(w, "%s, bot process %d: %d updates handled, CPU %.2f s (%.3f ms/update), peak RSS %.1f MB, RSS at the end %.1f MB\n",
				p.Name, i+1, rf.Updates, rf.CPUSeconds, rf.CPUPerUpdateMs, rf.PeakRSSMB, rf.EndRSSMB)
		}
		if p.ToolCPUSeconds > 0 {
			fmt.Fprintf(w, "%s, load tool: CPU %.2f s (%.3f ms/update); %s\n", p.Name, p.ToolCPUSeconds, p.ToolCPUPerUpdateMs, cpuShare(p, r.CPUs))
		}
	}
	if r.ShowSteps {
		for _, p := range r.Phases {
			if len(p.Steps) == 0 {
				continue
			}
			fmt.Fprintf(w, "\n%s, by step:\n", p.Name)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "step\tupdates\tp50 ms\tp99 ms\tmax ms\t")
			for _, s := range p.Steps {
				fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.1f\t\n", s.Step, s.Updates, s.P50Ms, s.P99Ms, s.MaxMs)
			}
			tw.Flush()
		}
	}
	if r.Ratio > 0 {
		fmt.Fprintf(w, "\nbot / sequential baseline: %.1f×\n", r.Ratio)
	}
	if b := r.Broadcast; b != nil {
		fmt.Fprintf(w, "\nbroadcast: %d/%d volunteers reminded in %.1f s, %.1f msg/s, %d × 429 (api delay %.0f ms)\n",
			b.Delivered, b.Volunteers, b.Seconds, b.RatePerSec, b.TooManyRequests, b.APIDelayMs)
	}
	if f := r.Redis; f != nil {
		fmt.Fprintf(w, "\nredis: %.0f B per open conversation (state key %.0f B, sampled %d); %d keys checked, %d without TTL\n",
			f.BytesPerUser, f.StateBytes, f.Conversations, f.KeysChecked, f.KeysWithoutTTL)
		fmt.Fprintf(w, "open conversations: %d, peak RSS %.1f MB\n", f.OpenConversationsN, f.OpenPeakRSSMB)
	}
	for _, p := range r.Phases {
		for _, e := range p.FirstErrors {
			fmt.Fprintf(w, "error (%s): %s\n", p.Name, e)
		}
	}
}

// cpuShare says how much of the machine's cores the bot, the load tool and
// Redis took together in phase p (Redis's whole server; PostgreSQL, where
// the phase used it, not counted).
func cpuShare(p Phase, cores int) string {
	if p.RedisCPUSeconds == nil {
		return "Redis: CPU not measured"
	}
	s := fmt.Sprintf("Redis (the whole server): CPU %.2f s; bot + load tool + Redis: %.2f s of CPU in %.2f s on %d cores",
		*p.RedisCPUSeconds, p.CPUSeconds+p.ToolCPUSeconds+*p.RedisCPUSeconds, p.Seconds, cores)
	if p.Database == "postgres" {
		s += " (PostgreSQL not counted)"
	}
	return s
}
