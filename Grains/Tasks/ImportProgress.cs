using System.Globalization;
using Glance.Grains.Storage;

namespace Glance.Grains.Tasks;

/// <summary>
/// How far a running import is, kept in memory by the image grain that runs it and read when its
/// tasks are listed: bytes done (read from the stream that measures them, so nothing is written per
/// block) and the total when the source said it (Content-Length, or the staged size). A restarted
/// import starts again from zero, so there is nothing to persist.
/// </summary>
public sealed class ImportProgress(long? total)
{
    private HashingReadStream? _source;
    private long _total = total ?? -1;

    /// <summary>The stream whose bytes count as done.</summary>
    public HashingReadStream? Source { set => Volatile.Write(ref _source, value); }

    /// <summary>The size of the whole, null when unknown.</summary>
    public long? Total
    {
        get => Volatile.Read(ref _total) is var t && t >= 0 ? t : null;
        set => Volatile.Write(ref _total, value ?? -1);
    }

    /// <summary>Bytes done so far.</summary>
    public long Done => Volatile.Read(ref _source)?.BytesRead ?? 0;

    /// <summary>
    /// <paramref name="task"/> with its progress, while it is processing: the message Glance's import
    /// writes as it copies ("Copied 3 MiB"), and the byte counts.
    /// </summary>
    public ImageTask Apply(ImageTask task)
    {
        if (task.Status != ImageTaskStatus.Processing)
        {
            return task;
        }
        var done = Done;
        return task with
        {
            Message = string.Create(CultureInfo.InvariantCulture, $"Copied {done >> 20} MiB"),
            BytesDone = done,
            BytesTotal = Total,
        };
    }
}
