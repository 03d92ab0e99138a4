using Microsoft.Win32.SafeHandles;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// An image being copied from the store into the cache: the bytes written so far, which the
/// downloads waiting for it read from the growing temporary file. The last byte is held back
/// until the whole copy matched the image's md5, so a download that reads a fill never
/// completes with bytes the cache would refuse.
/// </summary>
internal sealed class Fill(Guid image, ImageData data, string tempPath, SafeFileHandle handle)
{
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _written;
    private volatile bool _complete;
    private volatile Exception? _failure;

    public Guid Image { get; } = image;
    public ImageData Data { get; } = data;
    public string TempPath { get; } = tempPath;
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>Set when the entry is not wanted any more (removed, or its image deleted): the fill ends without one.</summary>
    public bool Discard { get; set; }

    /// <summary>A reader of the range, from the temporary file (opened now, while the name is certain).</summary>
    public Stream OpenReader(long offset, long length) =>
        new CacheReadStream(File.OpenHandle(TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), offset, length, this);

    public void Advance(long written)
    {
        Volatile.Write(ref _written, written);
        Pulse();
    }

    public void Complete()
    {
        _complete = true;
        Pulse();
    }

    public void Fail(Exception failure)
    {
        _failure ??= failure;
        Pulse();
    }

    /// <summary>Waits until the byte at <paramref name="position"/> may be read; the bytes readable from there.</summary>
    public async ValueTask<long> AvailableAsync(long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            var progress = Volatile.Read(ref _progress);
            if (_failure is { } failure)
            {
                throw new IOException($"The image cache fill of {Image} failed: {failure.Message}", failure);
            }
            var readable = _complete ? Data.Size : Math.Min(Volatile.Read(ref _written), Data.Size - 1);
            if (readable > position)
            {
                return readable - position;
            }
            await progress.Task.WaitAsync(cancellationToken);
        }
    }

    private void Pulse() =>
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
