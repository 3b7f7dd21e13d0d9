using System.Runtime.InteropServices;

namespace TicketSaga.Cli;

/// <summary>
/// glibc gives threads that allocate at once arenas of their own, up to eight per core, and memory
/// freed in an arena mostly stays with the process. A runtime serving seven apps on a small machine
/// grew that way order after order (README "Soak"); two arenas keep its native memory near what it
/// uses. The apps get the same from <c>MALLOC_ARENA_MAX</c> in dapr.yaml; this process starts before
/// anyone could set it, so it asks glibc itself, unless the variable was set.
/// </summary>
internal static class MallocArenas
{
    private const int ArenaMax = -8; // M_ARENA_MAX in glibc's malloc.h

    public static void Limit(int arenas = 2)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null)
        {
            return;
        }

        try
        {
            _ = NativeMethods.mallopt(ArenaMax, arenas);
        }
        catch (EntryPointNotFoundException)
        {
            // Not glibc (musl has no arenas to limit).
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
        public static extern int mallopt(int parameter, int value);
    }
}
