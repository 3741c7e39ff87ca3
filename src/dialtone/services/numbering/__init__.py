"""Phone numbers: held and stocked numbers, identity documents (KYC), porting,
renumbering and the number lifecycle job."""
