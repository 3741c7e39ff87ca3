"""Sans-I/O RTP: packets (RFC 3550), packetizer and playout (reorder) buffer."""
