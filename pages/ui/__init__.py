"""What the pages share (not pages themselves): cached resources, the session's settings, the frame, widgets."""
