package platform

// AuthView is the registry's view of this domain. It is immutable once
// published in a Registry.
type AuthView struct{}
