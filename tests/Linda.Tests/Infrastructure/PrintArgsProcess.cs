using System.Collections.Concurrent;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// samples/PrintArgs in an OS process of its own (run from its build folder), with the options given.
/// <see cref="Ready"/> completes when it says its workers are up; every job its printArgs handler
/// printed is kept (<see cref="Printed"/>: the args as it printed them). <see cref="Kill"/> is a SIGKILL.
/// </summary>
public sealed class PrintArgsProcess : IDisposable
{
    private const int LogLines = 200;
    private const string ReadyLine = "PrintArgs: 4 workers";
    private const string PrintedLine = "printArgs: ";

    private readonly CapturedProcess _child;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _firstPrinted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _printed = new();

    private PrintArgsProcess(string[] options, Action<string>? log)
    {
        _child = new CapturedProcess(TestPrograms.Dotnet("PrintArgs.dll", options), LogLines, (line, _) =>
        {
            log?.Invoke(line);
            _child!.Log(line);
            if (line.StartsWith(ReadyLine, StringComparison.Ordinal))
                _ready.TrySetResult();
            if (line.StartsWith(PrintedLine, StringComparison.Ordinal))
            {
                _printed.Enqueue(line[PrintedLine.Length..]);
                _firstPrinted.TrySetResult(line);
            }
        });
        _child.Process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException("PrintArgs exited before its workers were up:\n" + _child.Logged));
    }

    /// <summary>Completes when PrintArgs printed that its workers are up; fails if it exits first.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The first line a printArgs job printed (<c>printArgs: a b c</c>).</summary>
    public Task<string> FirstPrinted => _firstPrinted.Task;

    /// <summary>What each printArgs run printed after <c>printArgs: </c>, in order.</summary>
    public IReadOnlyCollection<string> Printed => _printed;

    /// <summary>
    /// Starts PrintArgs with <paramref name="options"/> (--port, --data, --redis) and waits until its
    /// workers are up; <paramref name="log"/> sees each line it prints.
    /// </summary>
    public static async Task<PrintArgsProcess> StartAsync(Action<string>? log, params string[] options)
    {
        var printArgs = new PrintArgsProcess(options, log);
        printArgs._child.Start();
        try
        {
            await printArgs.Ready.WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch
        {
            printArgs.Dispose();
            throw;
        }
        return printArgs;
    }

    /// <summary>SIGKILL: no shutdown, no flush. Returns once the process is gone and all it printed is read.</summary>
    public void Kill()
    {
        _child.Kill();
        _child.Log($"--- killed (SIGKILL), exit code {_child.Process.ExitCode}");
    }

    /// <summary>The last lines it printed (stderr marked "! "), for a failure message.</summary>
    public string RecentLog() => _child.Logged;

    /// <summary>Kills it if it still runs.</summary>
    public void Dispose() => _child.Dispose();
}
