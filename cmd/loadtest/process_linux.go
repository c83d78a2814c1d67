package main

import (
	"os/exec"
	"syscall"
)

// dieWithLoadTool has the kernel send SIGTERM to the bot process when the
// load tool dies (killed, or a test's timeout), so that no bot is left
// running on a shared machine.
func dieWithLoadTool(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
