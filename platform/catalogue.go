package platform

// CatalogueView is the registry's view of this domain. It is immutable once
// published in a Registry.
type CatalogueView struct{}
