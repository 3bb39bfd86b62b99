// Package binarytest runs the built weather-events function binary the way
// Lambda does (package local/lambdart), against dynalite behind a proxy
// that can hang or refuse (package internal/faultproxy): the real bootstrap
// under storage faults, not only its handler.
package binarytest
