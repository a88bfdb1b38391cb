/*
 * board.h — the interrupt handlers main.c gives startup.c's vector table.
 */
#ifndef BOARD_H
#define BOARD_H

/** SysTick: counts the wraps of the cycle counter. */
void systick_handler(void);
/** UART0 receive: moves bytes into the receive ring. */
void uart0_handler(void);
/** Hard, memory, bus and usage faults: reports on UART0 and halts. */
void fault_handler(void);

#endif /* BOARD_H */
