using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Linda.Telemetry;

namespace Linda.Benchmarks;

/// <summary>
/// What an exporter costs the queue: a <see cref="MeterListener"/> on every Linda instrument (each
/// measurement added into a sum per instrument, as an aggregating exporter does) and an
/// <see cref="ActivityListener"/> that samples and records every Linda span.
/// </summary>
internal sealed class TelemetryListeners : IDisposable
{
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _spans;
    private readonly ConcurrentDictionary<string, double> _sums = new();
    private long _spanCount;

    private TelemetryListeners()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LindaTelemetry.Name)
                listener.EnableMeasurementEvents(instrument);
        };
        _meters.SetMeasurementEventCallback<long>((i, v, _, _) => _sums.AddOrUpdate(i.Name, v, (_, s) => s + v));
        _meters.SetMeasurementEventCallback<double>((i, v, _, _) => _sums.AddOrUpdate(i.Name, v, (_, s) => s + v));
        _meters.Start();
        _spans = new ActivityListener
        {
            ShouldListenTo = s => s.Name == LindaTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _spanCount),
        };
        ActivitySource.AddActivityListener(_spans);
    }

    public static TelemetryListeners Start()
    {
        Console.Error.WriteLine("# telemetry: Linda's meter and spans are listened to");
        return new TelemetryListeners();
    }

    public void Dispose()
    {
        _meters.RecordObservableInstruments();
        Console.Error.WriteLine($"# telemetry: {Interlocked.Read(ref _spanCount)} spans; " + string.Join(", ", _sums.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value:0.###}")));
        _meters.Dispose();
        _spans.Dispose();
    }
}
