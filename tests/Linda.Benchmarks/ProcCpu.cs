using System.Globalization;

namespace Linda.Benchmarks;

/// <summary>
/// CPU time of other processes and of the machine, from Linux's /proc: a process's user + system time
/// (/proc/PID/stat), a server's with every process under it, and the machine's busy and total time
/// (/proc/stat). Times are in clock ticks of <see cref="TicksPerSecond"/>.
/// </summary>
internal static class ProcCpu
{
    /// <summary>USER_HZ: the unit of /proc's CPU times (<c>getconf CLK_TCK</c>), 100 on every Linux platform .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>How much of a thread's name Linux keeps (TASK_COMM_LEN less the terminating zero).</summary>
    private const int ThreadNameLength = 15;

    /// <summary>One process's line of /proc/PID/stat: its parent, its own CPU and that of its children it waited for.</summary>
    private readonly record struct Stat(int Parent, long User, long System, long ChildrenUser, long ChildrenSystem);

    /// <summary>CPU seconds process <paramref name="pid"/> has used (user + system), or NaN when it is gone.</summary>
    public static double ProcessSeconds(int pid) => Read(pid) is { } s ? (s.User + s.System) / TicksPerSecond : double.NaN;

    /// <summary>
    /// CPU seconds of each thread of process <paramref name="pid"/> whose name is <paramref name="name"/>
    /// (the runtime names its threads: ".NET Tiered Compilation Worker" is the JIT's background compiler;
    /// Linux keeps the first 15 characters), by thread id; empty when the process is gone. Such a thread
    /// may end and another start, so compare two readings thread by thread (<see cref="Since"/>).
    /// </summary>
    public static Dictionary<int, double> ThreadSeconds(int pid, string name)
    {
        var threads = new Dictionary<int, double>();
        var wanted = name[..Math.Min(name.Length, ThreadNameLength)];
        try
        {
            foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task"))
            {
                string line;
                try
                {
                    line = File.ReadAllText(Path.Combine(dir, "stat"));
                }
                catch (IOException)
                {
                    continue; // the thread ended
                }
                if (line[(line.IndexOf('(') + 1)..line.LastIndexOf(')')] != wanted)
                    continue;
                var f = line[(line.LastIndexOf(')') + 2)..].Split(' ');
                threads[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] =
                    (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            }
        }
        catch (DirectoryNotFoundException)
        {
            // the process ended
        }
        return threads;
    }

    /// <summary>CPU seconds the threads of <paramref name="now"/> used since <paramref name="before"/> (a thread that ended in between: what it used before it is lost).</summary>
    public static double Since(IReadOnlyDictionary<int, double> before, IReadOnlyDictionary<int, double> now) =>
        now.Sum(t => t.Value - before.GetValueOrDefault(t.Key));

    /// <summary>
    /// CPU seconds a server has used whose processes are all children of <paramref name="pid"/> (PostgreSQL's
    /// postmaster and its backends, writers and autovacuum workers): its own, that of the children it has
    /// waited for (ended connections), and that of the children running now. A difference of two readings
    /// counts everything in between, also of processes that ended in between.
    /// </summary>
    public static double ServerSeconds(int pid)
    {
        if (Read(pid) is not { } parent)
            return double.NaN;
        var ticks = parent.User + parent.System + parent.ChildrenUser + parent.ChildrenSystem;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var child) && Read(child) is { } s && s.Parent == pid)
                ticks += s.User + s.System;
        }
        return ticks / TicksPerSecond;
    }

    /// <summary>The machine's busy CPU seconds (all but idle and I/O wait) and its total CPU seconds, over all cores, since boot.</summary>
    public static (double Busy, double Total) Machine()
    {
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
        return (busy / TicksPerSecond, (busy + f[3] + f[4]) / TicksPerSecond);
    }

    private static Stat? Read(int pid)
    {
        string line;
        try
        {
            line = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null; // it ended
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // pid (comm) state ppid ...: comm may hold spaces and parentheses, so fields count from the last ')'.
        // After it: [0] state, [1] ppid, ... [11] utime, [12] stime, [13] cutime, [14] cstime.
        var f = line[(line.LastIndexOf(')') + 2)..].Split(' ');
        long L(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return new Stat(int.Parse(f[1], CultureInfo.InvariantCulture), L(11), L(12), L(13), L(14));
    }
}
