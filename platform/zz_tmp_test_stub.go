package platform

// TEMPORARY stub until the read-only view lands; removed at merge.
func ReadState(path string) (*Registry, error) {
	s := NewStore(StoreConfig{Path: path})
	if err := s.Open(); err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Registry(), nil
}

// OpenReadOnly TEMPORARY stub.
func OpenReadOnly(path string) (*Store, error) {
	s := NewStore(StoreConfig{Path: path})
	return s, s.Open()
}

type ChangeFilter struct {
	Type          string
	OK            *bool
	Limit, Offset int
}

func (s *Store) ListChanges(f ChangeFilter) ([]struct{}, int, error) { return nil, 0, nil }
