// Package podargs picks the command line of one pod of a StatefulSet.
//
// The pods of a StatefulSet share one pod template, so they share one
// command line; Kubernetes can substitute the pod's name into it
// ($(POD_NAME)) but cannot make an argument appear for pod 0 alone.
// The chart therefore renders the extra arguments of every ordinal into
// environment variables (POD_ORDINAL_ARGS_0, POD_ORDINAL_ARGS_1, …) and
// the image's tiny entrypoint, yizhan-pod, appends the ones for its own
// ordinal (the number after the last '-' of POD_NAME) to its arguments
// and executes the result. No shell is involved: the image has none.
package podargs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PodNameEnv holds the pod's name (downward API metadata.name).
const PodNameEnv = "POD_NAME"

// ArgsEnvPrefix prefixes the variable holding the extra arguments of an
// ordinal: POD_ORDINAL_ARGS_<ordinal>, fields separated by white space.
const ArgsEnvPrefix = "POD_ORDINAL_ARGS_"

// Ordinal returns the StatefulSet ordinal in a pod name ("office-2" → 2).
func Ordinal(podName string) (int, error) {
	i := strings.LastIndexByte(podName, '-')
	if i < 0 || i == len(podName)-1 {
		return 0, fmt.Errorf("pod name %q does not end in -<ordinal>", podName)
	}
	n, err := strconv.Atoi(podName[i+1:])
	if err != nil || n < 0 || strconv.Itoa(n) != podName[i+1:] {
		return 0, fmt.Errorf("pod name %q does not end in -<ordinal>", podName)
	}
	return n, nil
}

// Command returns the command to execute: args followed by the extra
// arguments rendered for this pod's ordinal. lookup reads the environment
// (os.LookupEnv).
func Command(args []string, lookup func(string) (string, bool)) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("usage: yizhan-pod COMMAND [ARG...]: no command given")
	}
	name, ok := lookup(PodNameEnv)
	if !ok || name == "" {
		return nil, fmt.Errorf("%s is not set: give the pod's name through the downward API (fieldRef metadata.name)", PodNameEnv)
	}
	ord, err := Ordinal(name)
	if err != nil {
		return nil, err
	}
	key := ArgsEnvPrefix + strconv.Itoa(ord)
	extra, ok := lookup(key)
	if !ok {
		return nil, fmt.Errorf("%s is not set for pod %s: the chart renders arguments for the replicas it was given; scale the office with helm upgrade --set replicas=N, not kubectl scale", key, name)
	}
	cmd := append([]string(nil), args...)
	return append(cmd, strings.Fields(extra)...), nil
}
