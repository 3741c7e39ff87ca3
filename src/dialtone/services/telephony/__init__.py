"""What a call needs from the store: users and their devices' registrations, inbound
routes, carrier trunks, greetings and voicemail."""
