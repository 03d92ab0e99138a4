using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Glance.Grains.Telemetry;

/// <summary>
/// The service's own instruments (meter <see cref="MeterName"/>), in one place, fed by one-line
/// calls from the paths that move bytes and run work. Static, because the streams that count are
/// made without dependency injection; an exporter (the API's <c>/metrics</c>) reads them by name.
/// Prometheus names: dots become underscores, the unit and <c>_total</c> are appended
/// (<c>glance.data.received</c>, unit By: <c>glance_data_received_bytes_total</c>).
/// </summary>
public static class GlanceMetrics
{
    /// <summary>The meter's name, and the ActivitySource's.</summary>
    public const string MeterName = "Glance.Orleans";

    internal static readonly Meter Meter = new(MeterName);

    /// <summary>The service's spans (ActivitySource of the same name).</summary>
    public static readonly ActivitySource Activities = new(MeterName);

    private static readonly UpDownCounter<long> UploadsActive =
        Meter.CreateUpDownCounter<long>("glance.uploads.active", "{upload}", "Uploads (file and stage) streaming into this node now");

    private static readonly UpDownCounter<long> DownloadsActive =
        Meter.CreateUpDownCounter<long>("glance.downloads.active", "{download}", "Downloads streaming from this node now");

    private static readonly Counter<long> Received =
        Meter.CreateCounter<long>("glance.data.received", "By", "Image bytes that entered the service on this node (uploads, staging, web-download imports)");

    private static readonly Counter<long> Sent =
        Meter.CreateCounter<long>("glance.data.sent", "By", "Image bytes sent to clients from this node (downloads)");

    private static readonly Histogram<double> HashTime =
        Meter.CreateHistogram<double>("glance.hash.duration", "s", "CPU time spent on md5 and sha512 of one upload or import (both hashes added)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] });

    private static readonly Counter<long> ImportsStarted =
        Meter.CreateCounter<long>("glance.import.tasks.started", "{task}", "Import tasks accepted, by method");

    private static readonly Counter<long> ImportsFinished =
        Meter.CreateCounter<long>("glance.import.tasks.finished", "{task}", "Import tasks ended, by method and outcome (success, failure)");

    private static readonly Counter<long> Errors =
        Meter.CreateCounter<long>("glance.errors", "{response}", "Requests answered with an error, by HTTP status code");

    private static readonly Counter<long> CacheLookups =
        Meter.CreateCounter<long>("glance.image_cache.lookups", "{download}", "Downloads the image-cache extension looked up on this node, by result (hit, miss)");

    private static readonly Counter<long> RepairStates =
        Meter.CreateCounter<long>("glance.repair.states", "{state}", "Stored states the azure profile's repair passes looked at, by outcome (read, repaired, data-removed: image bytes no image held)");

    private static readonly Counter<long> RepairPasses =
        Meter.CreateCounter<long>("glance.repair.passes", "{pass}", "Repair passes finished, by scope (full, incremental)");

    /// <summary>What one finished repair pass did.</summary>
    public static void RepairPass(bool incremental, int read, int repaired, int dataRemoved)
    {
        RepairPasses.Add(1, new KeyValuePair<string, object?>("scope", incremental ? "incremental" : "full"));
        RepairStates.Add(read, new KeyValuePair<string, object?>("outcome", "read"));
        RepairStates.Add(repaired, new KeyValuePair<string, object?>("outcome", "repaired"));
        RepairStates.Add(dataRemoved, new KeyValuePair<string, object?>("outcome", "data-removed"));
    }

    /// <summary>One lookup of the image cache: served from it (hit) or not (miss).</summary>
    public static void CacheLookup(bool hit) => CacheLookups.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    /// <summary>Counts an upload in flight until the result is disposed.</summary>
    public static InFlight Upload() => new(UploadsActive);

    /// <summary>Counts a download in flight until the result is disposed; add the bytes sent to it.</summary>
    public static InFlight Download() => new(DownloadsActive, Sent);

    /// <summary>Bytes that entered the service.</summary>
    public static void DataReceived(long bytes) => Received.Add(bytes);

    /// <summary>The hashing time of one stream of bytes, from <see cref="Stopwatch.GetTimestamp"/> ticks.</summary>
    public static void Hashed(long stopwatchTicks) => HashTime.Record((double)stopwatchTicks / Stopwatch.Frequency);

    /// <summary>An import task was accepted.</summary>
    public static void ImportStarted(string method) => ImportsStarted.Add(1, new KeyValuePair<string, object?>("method", method));

    /// <summary>An import task ended.</summary>
    public static void ImportFinished(string method, bool succeeded) => ImportsFinished.Add(1,
        new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("outcome", succeeded ? "success" : "failure"));

    /// <summary>A response with status <paramref name="status"/>; counted when it is an error (400 and up).</summary>
    public static void Answered(int status)
    {
        if (status >= 400)
        {
            Errors.Add(1, new KeyValuePair<string, object?>("http.response.status_code", status));
        }
    }

    /// <summary>One upload or download in progress: counted while alive; bytes added at the end.</summary>
    public sealed class InFlight : IDisposable
    {
        private readonly UpDownCounter<long> _active;
        private readonly Counter<long>? _bytes;
        private int _disposed;

        internal InFlight(UpDownCounter<long> active, Counter<long>? bytes = null)
        {
            (_active, _bytes) = (active, bytes);
            _active.Add(1);
        }

        /// <summary>Bytes moved so far (counted into the byte counter once, on dispose).</summary>
        public long Bytes { get; set; }

        /// <inheritdoc />
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _active.Add(-1);
                if (Bytes > 0)
                {
                    _bytes?.Add(Bytes);
                }
            }
        }
    }
}
