using System.Collections.Concurrent;
using System.Diagnostics;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A child process whose output is read as it comes: each stdout line goes to the owner's handler, with
/// the <see cref="Stopwatch"/> time it arrived; each stderr line to <see cref="Log"/>, marked "! ". The
/// log keeps the last lines, for failure messages. <see cref="Kill"/> is a SIGKILL. What LindaServerProcess
/// and ClusterNodeProcess share.
/// </summary>
internal sealed class CapturedProcess : IDisposable
{
    private readonly int _logLines;
    private readonly ConcurrentQueue<string> _log = new();

    /// <param name="start">How to start it, stdout and stderr redirected (<see cref="TestPrograms.Dotnet"/>).</param>
    /// <param name="logLines">How many of the last lines the log keeps.</param>
    /// <param name="onLine">Called with each stdout line and the time it arrived.</param>
    public CapturedProcess(ProcessStartInfo start, int logLines, Action<string, long> onLine)
    {
        _logLines = logLines;
        Process = new Process { StartInfo = start, EnableRaisingEvents = true };
        Process.OutputDataReceived += (_, e) => { if (e.Data is { } line) onLine(line, Stopwatch.GetTimestamp()); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Log("! " + line); };
    }

    public Process Process { get; }

    /// <summary>The lines the log keeps, oldest first, one a line.</summary>
    public string Logged => string.Join("\n", _log);

    /// <summary>Starts the process and the reading of its output.</summary>
    public void Start()
    {
        Process.Start();
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>Adds <paramref name="line"/> to the log, dropping the oldest beyond its size.</summary>
    public void Log(string line)
    {
        _log.Enqueue(line);
        while (_log.Count > _logLines && _log.TryDequeue(out _))
        {
        }
    }

    /// <summary>SIGKILL (Process.Kill is a SIGKILL on Linux): no shutdown, no flush. Returns once the process is gone and all it printed is read.</summary>
    public void Kill()
    {
        Process.Kill(entireProcessTree: true);
        Process.WaitForExit(); // without a timeout it also waits for the end of the redirected output
    }

    /// <summary>Kills the process if it still runs.</summary>
    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
                Kill();
        }
        catch (InvalidOperationException)
        {
            // never started
        }
        Process.Dispose();
    }
}
