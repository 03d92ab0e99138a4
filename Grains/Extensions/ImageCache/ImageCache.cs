using System.Security.Cryptography;
using System.Text.Json;
using Glance.Grains.Hosting;
using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// This node's cache of image bytes: one file per image (<c>&lt;id&gt;</c>, with its record in
/// <c>&lt;id&gt;.json</c>) under the cache directory, at most <see cref="ImageCacheOptions.MaxSize"/>
/// bytes, least recently used out first. An uncached image is filled while its first download
/// streams: the store is read once, into a temporary file that the downloads (the first and any
/// that join it) read as it grows; it becomes an entry, renamed into place, only once its size
/// and md5 match the image's. Only bytes are kept: every download has already asked the image
/// grain (<c>OpenDataAsync</c>) before it gets here.
/// </summary>
public sealed class ImageCache : IDisposable
{
    // Large writes: fewer wake-ups of the readers that follow the fill.
    private const int Chunk = 1 << 20;
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Entry> _entries = [];
    private readonly Dictionary<Guid, Fill> _fills = [];
    private readonly HashSet<Guid> _queued = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly IImageDataStore _store;
    private readonly IGrainFactory _grains;
    private readonly ILogger<ImageCache> _logger;
    private readonly TimeProvider _clock;
    private long _used;
    private long _storeReads;
    private bool _loaded;

    /// <summary>A cache configured by <paramref name="options"/> in front of <paramref name="store"/>.</summary>
    public ImageCache(IOptions<ImageCacheOptions> options, GlanceOptions host, IImageDataStore store, IGrainFactory grains,
        ILogger<ImageCache> logger, TimeProvider clock)
    {
        Options = options.Value;
        Directory = Options.DirectoryFor(host);
        Node = Options.Node ?? $"{Environment.MachineName}:{Directory}";
        (_store, _grains, _logger, _clock) = (store, grains, logger, clock);
    }

    /// <summary>The options in use.</summary>
    public ImageCacheOptions Options { get; }

    /// <summary>The cache directory.</summary>
    public string Directory { get; }

    /// <summary>This node's name, as <c>/v2/cache/nodes/{image_id}</c> lists it.</summary>
    public string Node { get; }

    /// <summary>How many times the cache opened the store (a fill, or a download it does not cache).</summary>
    public long StoreReads => Interlocked.Read(ref _storeReads);

    /// <summary>Bytes held (entries and fills in progress).</summary>
    public long Used
    {
        get
        {
            lock (_gate)
            {
                return _used;
            }
        }
    }

    /// <summary>
    /// The bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of
    /// the image <paramref name="id"/>, whose download <paramref name="data"/> the image grain allowed:
    /// from the cache when it holds them, else from a fill (a whole-image download starts one), else
    /// straight from the store (a range of an uncached image, an image too large to cache).
    /// </summary>
    public Task<Stream> OpenReadAsync(string id, ImageData data, long offset, long length, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var image) || data.Checksum is null || data.Size > Options.MaxSize)
        {
            return ReadStoreAsync(data, offset, length, cancellationToken);
        }
        lock (_gate)
        {
            Load();
            var whole = offset == 0 && length == data.Size;
            if (Hit(image, data) is { } entry && OpenEntry(entry, offset, length) is { } cached)
            {
                return Task.FromResult(cached);
            }
            if (_fills.TryGetValue(image, out var fill) && fill.Data.DataKey == data.DataKey && fill.Data.Checksum == data.Checksum)
            {
                return Task.FromResult(fill.OpenReader(offset, length));
            }
            if (whole && fill is null && StartFill(image, data) is { } started)
            {
                return Task.FromResult(started.OpenReader(offset, length));
            }
        }
        return ReadStoreAsync(data, offset, length, cancellationToken);
    }

    /// <summary>Caches <paramref name="image"/> now, in the background (<c>PUT /v2/cache/{id}</c>); false when it is cached or on its way.</summary>
    public bool Queue(Guid image, ImageData data)
    {
        lock (_gate)
        {
            Load();
            if (data.Checksum is null || data.Size == 0 || data.Size > Options.MaxSize || Hit(image, data) is not null || _fills.ContainsKey(image))
            {
                return false;
            }
            if (StartFill(image, data) is null)
            {
                return false;
            }
            _queued.Add(image);
            return true;
        }
    }

    /// <summary>The cached images (Glance's <c>cached_images</c>) and those queued (<c>queued_images</c>).</summary>
    public (ImmutableArray<CachedImage> Cached, ImmutableArray<Guid> Queued) State()
    {
        lock (_gate)
        {
            Load();
            return ([.. _entries.Values.OrderBy(e => e.LastAccessed).Select(e => new CachedImage(e.Image, e.Hits, e.LastAccessed, e.LastModified, e.Size))],
                [.. _queued]);
        }
    }

    /// <summary>True when the image is cached or queued here.</summary>
    public bool Holds(Guid image)
    {
        lock (_gate)
        {
            Load();
            return _entries.ContainsKey(image) || _queued.Contains(image);
        }
    }

    /// <summary>Drops the image from the cache and the queue (a fill in progress is discarded when it ends); true when it was there.</summary>
    public bool Remove(Guid image)
    {
        lock (_gate)
        {
            Load();
            var queued = _queued.Remove(image);
            if (_fills.TryGetValue(image, out var fill))
            {
                fill.Discard = true;
            }
            return Drop(image) | queued;
        }
    }

    /// <summary>Empties the cache (entries) and/or the queue; the counts removed.</summary>
    public (int Cached, int Queued) Clear(bool cache, bool queue)
    {
        lock (_gate)
        {
            Load();
            var queued = 0;
            if (queue)
            {
                queued = _queued.Count;
                foreach (var image in _queued)
                {
                    if (_fills.TryGetValue(image, out var fill))
                    {
                        fill.Discard = true;
                    }
                }
                _queued.Clear();
            }
            var cached = 0;
            if (cache)
            {
                foreach (var image in _entries.Keys.ToList())
                {
                    cached += Drop(image) ? 1 : 0;
                }
            }
            return (cached, queued);
        }
    }

    /// <summary>Removes what is invalid (an entry whose file is gone or has the wrong size) and leftovers of fills that are not running (<c>POST /v2/cache/clean</c>).</summary>
    public void Clean()
    {
        lock (_gate)
        {
            Load();
            foreach (var entry in _entries.Values.ToList())
            {
                var file = new FileInfo(DataPath(entry.Image));
                if (!file.Exists || file.Length != entry.Size)
                {
                    Drop(entry.Image);
                }
            }
            var running = _fills.Values.Select(f => f.TempPath).ToHashSet();
            foreach (var temp in System.IO.Directory.EnumerateFiles(Directory, "*.tmp").Where(t => !running.Contains(t)))
            {
                TryDelete(temp);
            }
        }
    }

    /// <summary>Evicts least recently used entries until the cache is within its size (<c>POST /v2/cache/prune</c>): the files and bytes removed.</summary>
    public (int Files, long Bytes) Prune()
    {
        lock (_gate)
        {
            Load();
            var (files, bytes) = (0, 0L);
            while (_used > Options.MaxSize && _entries.Count > 0)
            {
                var victim = _entries.Values.MinBy(e => e.LastAccessed)!;
                Drop(victim.Image);
                (files, bytes) = (files + 1, bytes + victim.Size);
            }
            return (files, bytes);
        }
    }

    /// <summary>
    /// One pass of upkeep: drops entries of images the cluster knows were deleted, tells the
    /// cluster which images this node holds, and saves the entries' hit counts.
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        List<Entry> entries;
        lock (_gate)
        {
            Load();
            entries = [.. _entries.Values];
        }
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var nodes = _grains.GetGrain<IImageCacheNodesGrain>(entry.Image);
            var holders = await nodes.GetAsync();
            if (holders.Purged)
            {
                Remove(entry.Image);
                continue;
            }
            if (!holders.Nodes.Contains(Node))
            {
                await nodes.AddAsync(Node);
            }
            lock (_gate)
            {
                if (entry.Dirty && _entries.GetValueOrDefault(entry.Image) == entry)
                {
                    entry.Dirty = false;
                    WriteRecord(entry);
                }
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stopping.Cancel();
        lock (_gate)
        {
            foreach (var entry in _entries.Values.Where(e => e.Dirty))
            {
                WriteRecord(entry);
            }
        }
        // Not disposed: fills still running see the cancellation and end on their own.
    }

    private async Task<Stream> ReadStoreAsync(ImageData data, long offset, long length, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _storeReads);
        return await _store.OpenReadAsync(data.DataKey, offset, length, cancellationToken);
    }

    /// <summary>The entry for the image when it holds these bytes (a stale one is dropped), counting a hit.</summary>
    private Entry? Hit(Guid image, ImageData data)
    {
        if (!_entries.TryGetValue(image, out var entry))
        {
            Telemetry.GlanceMetrics.CacheLookup(hit: false);
            return null;
        }
        if (entry.DataKey != data.DataKey || !string.Equals(entry.Checksum, data.Checksum, StringComparison.OrdinalIgnoreCase) || entry.Size != data.Size)
        {
            Drop(image);
            Telemetry.GlanceMetrics.CacheLookup(hit: false);
            return null;
        }
        Telemetry.GlanceMetrics.CacheLookup(hit: true);
        entry.Hits++;
        entry.LastAccessed = _clock.GetUtcNow();
        entry.Dirty = true;
        return entry;
    }

    private Stream? OpenEntry(Entry entry, long offset, long length)
    {
        try
        {
            // A complete entry is read as the file store reads its files (synchronous page-cache reads).
            var handle = File.OpenHandle(DataPath(entry.Image), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
            return new FileRangeStream(handle, offset, length);
        }
        catch (IOException)
        {
            // Removed behind the cache's back: forget it and read the store.
            Drop(entry.Image);
            return null;
        }
    }

    private Fill? StartFill(Guid image, ImageData data)
    {
        if (!Reserve(data.Size))
        {
            return null;
        }
        var temp = Path.Combine(Directory, $"{image:N}.{Guid.NewGuid():N}.tmp");
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException e)
        {
            _used -= data.Size;
            _logger.LogWarning(e, "Image cache cannot create {Temp}", temp);
            return null;
        }
        var fill = new Fill(image, data, temp, handle);
        _fills[image] = fill;
        _ = Task.Run(() => RunFillAsync(fill));
        return fill;
    }

    /// <summary>Evicts least recently used entries until <paramref name="size"/> more bytes fit; false when they cannot (fills in progress hold the room).</summary>
    private bool Reserve(long size)
    {
        while (_used + size > Options.MaxSize && _entries.Count > 0)
        {
            Drop(_entries.Values.MinBy(e => e.LastAccessed)!.Image);
        }
        if (_used + size > Options.MaxSize)
        {
            return false;
        }
        _used += size;
        return true;
    }

    private async Task RunFillAsync(Fill fill)
    {
        var verified = false;
        try
        {
            Interlocked.Increment(ref _storeReads);
            await using (var source = await _store.OpenReadAsync(fill.Data.DataKey, 0, null, _stopping.Token))
            {
                using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
                var buffer = new byte[Chunk];
                long written = 0;
                while (true)
                {
                    var read = await source.ReadAsync(buffer, _stopping.Token);
                    if (read == 0)
                    {
                        break;
                    }
                    if (written + read > fill.Data.Size)
                    {
                        throw new InvalidDataException("the store holds more bytes than the image's size");
                    }
                    await RandomAccess.WriteAsync(fill.Handle, buffer.AsMemory(0, read), written, _stopping.Token);
                    md5.AppendData(buffer, 0, read);
                    written += read;
                    fill.Advance(written);
                }
                var checksum = Convert.ToHexStringLower(md5.GetHashAndReset());
                if (written != fill.Data.Size || !string.Equals(checksum, fill.Data.Checksum, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"the store's bytes ({written} bytes, md5 {checksum}) are not the image's ({fill.Data.Size} bytes, md5 {fill.Data.Checksum})");
                }
            }
            verified = true;
        }
        catch (Exception e)
        {
            _logger.LogWarning("Image cache fill of {Image} failed: {Reason}", fill.Image, e.Message);
            fill.Fail(e);
        }
        finally
        {
            fill.Handle.Dispose();
        }
        Entry? added = null;
        lock (_gate)
        {
            _fills.Remove(fill.Image);
            _queued.Remove(fill.Image);
            if (verified && !fill.Discard && !_stopping.IsCancellationRequested)
            {
                var now = _clock.GetUtcNow();
                added = new Entry(fill.Image, fill.Data.DataKey, fill.Data.Checksum!, fill.Data.Size) { LastAccessed = now, LastModified = now };
                try
                {
                    WriteRecord(added);
                    File.Move(fill.TempPath, DataPath(fill.Image), overwrite: true);
                    _entries[fill.Image] = added;
                }
                catch (IOException e)
                {
                    _logger.LogWarning(e, "Image cache cannot keep {Image}", fill.Image);
                    TryDelete(RecordPath(fill.Image));
                    added = null;
                }
            }
            if (added is null)
            {
                _used -= fill.Data.Size;
                TryDelete(fill.TempPath);
            }
        }
        // Readers get the last byte only now, after the entry was verified (or an error when it was not).
        if (verified)
        {
            fill.Complete();
        }
        else
        {
            fill.Fail(new IOException("image cache fill failed"));
        }
        if (added is not null)
        {
            await TellAsync(fill.Image, nodes => nodes.AddAsync(Node));
        }
    }

    /// <summary>Removes an entry and its files; true when there was one.</summary>
    private bool Drop(Guid image)
    {
        if (!_entries.Remove(image, out var entry))
        {
            return false;
        }
        _used -= entry.Size;
        TryDelete(DataPath(image));
        TryDelete(RecordPath(image));
        _ = TellAsync(image, nodes => nodes.RemoveAsync(Node));
        return true;
    }

    private async Task TellAsync(Guid image, Func<IImageCacheNodesGrain, Task> update)
    {
        try
        {
            await update(_grains.GetGrain<IImageCacheNodesGrain>(image));
        }
        catch (Exception e)
        {
            // The next sweep tells the cluster again.
            _logger.LogDebug(e, "Image cache could not update the nodes of {Image}", image);
        }
    }

    /// <summary>Reads the entries left by an earlier run (once): a record without its complete file, and any temporary file, is removed.</summary>
    private void Load()
    {
        if (_loaded)
        {
            return;
        }
        _loaded = true;
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var temp in System.IO.Directory.EnumerateFiles(Directory, "*.tmp"))
        {
            TryDelete(temp);
        }
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
        {
            Entry? entry = null;
            try
            {
                var record = JsonSerializer.Deserialize<EntryRecord>(File.ReadAllBytes(path));
                if (record is not null && Guid.TryParse(Path.GetFileNameWithoutExtension(path), out var image) && image == record.ImageId)
                {
                    var file = new FileInfo(DataPath(image));
                    if (file.Exists && file.Length == record.Size && _used + record.Size <= Options.MaxSize)
                    {
                        entry = new Entry(image, record.DataKey, record.Checksum, record.Size)
                        {
                            Hits = record.Hits,
                            LastAccessed = record.LastAccessed,
                            LastModified = record.LastModified,
                        };
                    }
                }
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                _logger.LogWarning("Image cache drops the unreadable record {Path}: {Reason}", path, e.Message);
            }
            if (entry is null)
            {
                TryDelete(path);
                TryDelete(Path.ChangeExtension(path, null));
                continue;
            }
            _entries[entry.Image] = entry;
            _used += entry.Size;
        }
        // Files with no record (a crash between the two writes) are not entries.
        var known = _entries.Keys.Select(DataPath).ToHashSet();
        foreach (var stray in System.IO.Directory.EnumerateFiles(Directory).Where(f => Guid.TryParseExact(Path.GetFileName(f), "D", out _) && !known.Contains(f)))
        {
            TryDelete(stray);
        }
    }

    private void WriteRecord(Entry entry)
    {
        var path = RecordPath(entry.Image);
        var temp = path + $".{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(new EntryRecord(entry.Image, entry.DataKey, entry.Checksum, entry.Size, entry.Hits, entry.LastAccessed, entry.LastModified)));
        File.Move(temp, path, overwrite: true);
    }

    private string DataPath(Guid image) => Path.Combine(Directory, image.ToString("D"));

    private string RecordPath(Guid image) => Path.Combine(Directory, $"{image:D}.json");

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "Image cache cannot delete {Path}", path);
        }
    }

    /// <summary>A cached image as it is kept in memory.</summary>
    private sealed class Entry(Guid image, string dataKey, string checksum, long size)
    {
        public Guid Image { get; } = image;
        public string DataKey { get; } = dataKey;
        public string Checksum { get; } = checksum;
        public long Size { get; } = size;
        public long Hits { get; set; }
        public DateTimeOffset LastAccessed { get; set; }
        public DateTimeOffset LastModified { get; set; }
        public bool Dirty { get; set; }
    }

    /// <summary>An entry's record on disk, <c>&lt;id&gt;.json</c>.</summary>
    private sealed record EntryRecord(Guid ImageId, string DataKey, string Checksum, long Size, long Hits, DateTimeOffset LastAccessed, DateTimeOffset LastModified);
}

/// <summary>One cached image, as <c>GET /v2/cache</c> lists it.</summary>
public sealed record CachedImage(Guid ImageId, long Hits, DateTimeOffset LastAccessed, DateTimeOffset LastModified, long Size);

/// <summary>Who may manage a cache: admins only, as Glance's default <c>manage_image_cache</c> policy.</summary>
public static class ImageCachePolicy
{
    /// <summary>Throws 403 unless <paramref name="caller"/> is an admin.</summary>
    public static void EnsureManager(Caller caller)
    {
        if (!caller.IsAdmin)
        {
            throw GlanceException.Forbidden("You are not authorized to manage the image cache.");
        }
    }
}
