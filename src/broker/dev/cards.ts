/**
 * Published test card numbers (issuer and payment-processor test ranges): Luhn-valid, never
 * issued to a cardholder. Several brands and every common length, so masking can be tried on
 * 13, 14, 15, 16 and 19 digits.
 */
export interface DemoCard {
  holder: string;
  brand: string;
  pan: string;
  cvv: string;
  expiry: string;
}

export const DEMO_CARDS: readonly DemoCard[] = [
  { holder: 'Ada Lovelace', brand: 'visa', pan: '4111111111111111', cvv: '123', expiry: '12/29' },
  { holder: 'Alan Turing', brand: 'visa', pan: '4242424242424242', cvv: '314', expiry: '01/30' },
  { holder: 'Grace Hopper', brand: 'visa', pan: '4222222222222', cvv: '271', expiry: '06/28' },
  { holder: 'Edsger Dijkstra', brand: 'mastercard', pan: '5105105105105100', cvv: '404', expiry: '03/29' },
  { holder: 'Barbara Liskov', brand: 'mastercard', pan: '5200828282828210', cvv: '555', expiry: '09/31' },
  { holder: 'Donald Knuth', brand: 'mastercard', pan: '5300000000000006', cvv: '161', expiry: '11/27' },
  { holder: 'Frances Allen', brand: 'mastercard', pan: '5454545454545454', cvv: '828', expiry: '02/30' },
  { holder: 'John Backus', brand: 'mastercard', pan: '5555555555554444', cvv: '987', expiry: '07/29' },
  { holder: 'Margaret Hamilton', brand: 'mastercard', pan: '2223003122003222', cvv: '246', expiry: '05/31' },
  { holder: 'Ken Thompson', brand: 'mastercard', pan: '2720992720992729', cvv: '135', expiry: '10/28' },
  { holder: 'Radia Perlman', brand: 'amex', pan: '378282246310005', cvv: '1234', expiry: '04/30' },
  { holder: 'Leslie Lamport', brand: 'amex', pan: '371449635398431', cvv: '9876', expiry: '08/29' },
  { holder: 'Dennis Ritchie', brand: 'discover', pan: '6011111111111117', cvv: '753', expiry: '12/30' },
  { holder: 'Shafi Goldwasser', brand: 'discover', pan: '6011000990139424', cvv: '159', expiry: '01/29' },
  { holder: 'Tim Berners-Lee', brand: 'jcb', pan: '3530111333300000', cvv: '357', expiry: '03/31' },
  { holder: 'Whitfield Diffie', brand: 'jcb', pan: '3566002020360505', cvv: '951', expiry: '06/30' },
  { holder: 'Niklaus Wirth', brand: 'diners', pan: '30569309025904', cvv: '258', expiry: '09/29' },
  { holder: 'Adele Goldberg', brand: 'diners', pan: '38520000023237', cvv: '852', expiry: '11/30' },
  { holder: 'Vint Cerf', brand: 'visa', pan: '4000000000000000006', cvv: '369', expiry: '02/31' },
  { holder: 'Butler Lampson', brand: 'discover', pan: '6011000000000000001', cvv: '147', expiry: '07/30' },
];

/** The Luhn (mod 10) check that every card number satisfies. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
