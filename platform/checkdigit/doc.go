// Package checkdigit computes and checks the check characters of the
// identifiers Lijiang validates, masks and makes up: bank card numbers (the
// Luhn digit of ISO/IEC 7812) and resident identity card numbers (ISO 7064
// MOD 11-2, GB 11643-1999). The schema formats and the masker's card
// detection in platform, and the sandbox bank's made-up customers, share
// these, so that there is one of each. It imports nothing of the project.
package checkdigit
