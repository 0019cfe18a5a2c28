/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the Windows build under Wine 8.0.
 *
 * Rust's std on Windows (1.78+) fills its random seeds with bcryptprimitives!ProcessPrng,
 * which Wine 8.0 does not have: every .exe then fails to load (status c0000135). Windows 10
 * and 11 ship the real DLL; this file exists only for the CI's wine runs and is never
 * distributed. RtlGenRandom (advapi32!SystemFunction036) is the CSPRNG Wine does implement.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Same contract as Windows': fills `data` with `len` random bytes; TRUE on success. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
