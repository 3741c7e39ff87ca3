"""The AI receptionist's records (issue 17): agent profiles (TERMS A1) and their
knowledge entries, the pure profile a call uses, and the report of each agent call
(A4: labelled AI-generated). Above telephony, messaging, numbering and accounts."""
